"""Session lifetime: idle and absolute timeouts, and disabling a user, all end the session at once."""

import pytest

from app.accounts.service import disable_user
from app.accounts.sessions import ROTATE_FLAG
from tests.http.conftest import SESSION_COOKIE, execute, fetch, session_data, set_auth_at

pytestmark = pytest.mark.anyio


async def _logged_in(client, login, person, *roles: str):
    actor = await person(*roles or ("maker",))
    assert (await login(actor.user.username)).status_code == 303
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200
    return actor, client.cookies.get(SESSION_COOKIE)


def _to_login(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_session_row_knows_its_user_and_when_it_expires(client, db, login, person):
    ana, session_id = await _logged_in(client, login, person)
    rows = await fetch(db, "SELECT user_id, expires_at - now() FROM sessions WHERE id = :id", id=session_id)
    assert rows[0][0] == ana.user.id
    assert 29 * 60 < rows[0][1].total_seconds() <= 30 * 60
    data = await session_data(db, session_id)
    assert data["user_id"] == str(ana.user.id)
    assert isinstance(data["auth_at"], int)
    assert ROTATE_FLAG not in data


async def test_activity_renews_the_idle_deadline(client, db, login, person):
    _, session_id = await _logged_in(client, login, person)
    await execute(
        db, "UPDATE sessions SET expires_at = now() + interval '1 minute' WHERE id = :id", id=session_id
    )
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200
    rows = await fetch(db, "SELECT expires_at - now() FROM sessions WHERE id = :id", id=session_id)
    assert rows[0][0].total_seconds() > 29 * 60


async def test_idle_timeout_sends_the_user_back_to_login(client, db, login, person):
    _, session_id = await _logged_in(client, login, person)
    await execute(
        db, "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = :id", id=session_id
    )
    response = await client.get("/queue", follow_redirects=False)
    assert _to_login(response)
    assert response.headers["location"] == "/login?next=/queue"


async def test_a_session_younger_than_the_absolute_limit_still_works(client, db, login, person):
    _, session_id = await _logged_in(client, login, person)
    await set_auth_at(db, session_id, seconds_ago=11 * 3600)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200


async def test_absolute_timeout_sends_the_user_back_to_login_however_active(client, db, login, person):
    _, session_id = await _logged_in(client, login, person)
    await set_auth_at(db, session_id, seconds_ago=13 * 3600)
    assert _to_login(await client.get("/queue", follow_redirects=False))
    # activity does not revive it
    assert _to_login(await client.get("/history", follow_redirects=False))


async def test_absolute_timeout_ends_the_session_row(client, db, login, person):
    # auth.py calls clear_session() past the limit, but the 401 response bypasses the session middleware,
    # so the row stays (and is renewed by every request) and the cookie is not cleared
    _, session_id = await _logged_in(client, login, person)
    await set_auth_at(db, session_id, seconds_ago=13 * 3600)
    assert _to_login(await client.get("/queue", follow_redirects=False))
    assert await fetch(db, "SELECT id FROM sessions WHERE id = :id", id=session_id) == []


async def test_absolute_timeout_also_applies_to_htmx_requests(client, db, login, person):
    _, session_id = await _logged_in(client, login, person)
    await set_auth_at(db, session_id, seconds_ago=13 * 3600)
    response = await client.get("/queue", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers.get("hx-redirect", "").startswith("/login")


async def test_disabling_a_user_ends_their_session_at_once(client, db, login, person):
    ana, _ = await _logged_in(client, login, person)
    await execute(db, "UPDATE users SET is_active = false WHERE id = :id", id=ana.user.id)
    assert _to_login(await client.get("/queue", follow_redirects=False))
    assert _to_login(await client.get("/history", follow_redirects=False))


async def test_a_disabled_user_cannot_log_in(client, db, login, person):
    ana = await person("maker")
    await execute(db, "UPDATE users SET is_active = false WHERE id = :id", id=ana.user.id)
    response = await login(ana.user.username)
    assert response.status_code == 401
    assert not client.cookies.get(SESSION_COOKIE)


async def test_disabling_a_user_deletes_their_session_rows_only(client, db, login, person):
    await _logged_in(client, login, person)
    bob, bob_session = await _logged_in(client, login, person)  # a second login, another row
    await execute(
        db,
        "INSERT INTO sessions (id, user_id, data, created_at, expires_at) "
        "SELECT 'other-device', user_id, data, now(), now() + interval '10 minutes' "
        "FROM sessions WHERE id = :id",
        id=bob_session,
    )
    count = "SELECT count(*) FROM sessions WHERE user_id = :id"
    assert (await fetch(db, count, id=bob.user.id))[0][0] == 2

    async with db.sessions() as session, session.begin():
        await disable_user(session=session, username=bob.user.username, via="test")

    assert (await fetch(db, count, id=bob.user.id))[0][0] == 0
    assert _to_login(await client.get("/queue", follow_redirects=False))


async def test_disabling_a_user_leaves_other_users_logged_in(client, db, login, person):
    ana, ana_session = await _logged_in(client, login, person)
    bob = await person("checker")
    async with db.sessions() as session, session.begin():
        await disable_user(session=session, username=bob.user.username, via="test")
    assert (await fetch(db, "SELECT id FROM sessions WHERE user_id = :id", id=ana.user.id)) == [
        (ana_session,)
    ]
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200
