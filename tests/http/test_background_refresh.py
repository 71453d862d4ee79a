"""The live queue refreshing itself does not count as the person being active."""

import pytest

from tests.http.conftest import SESSION_COOKIE, execute, fetch

pytestmark = pytest.mark.anyio

REMAINING = "SELECT extract(epoch FROM expires_at - now()) FROM sessions WHERE id = :id"


async def test_background_refreshes_leave_the_idle_deadline_alone(client, db, login, person):
    actor = await person("checker")
    assert (await login(actor.user.username)).status_code == 303
    session_id = client.cookies.get(SESSION_COOKIE)
    await execute(
        db, "UPDATE sessions SET expires_at = now() + interval '1 minute' WHERE id = :id", id=session_id
    )

    refresh = await client.get("/queue", headers={"HX-Request": "true", "X-Background-Refresh": "true"})

    assert refresh.status_code == 200
    assert 'id="queue-rows"' in refresh.text
    assert not any(SESSION_COOKIE in v for k, v in refresh.headers.multi_items() if k == "set-cookie")
    assert (await fetch(db, REMAINING, id=session_id))[0][0] < 61

    assert (await client.get("/queue", headers={"HX-Request": "true"})).status_code == 200
    assert (await fetch(db, REMAINING, id=session_id))[0][0] > 29 * 60  # a person's request renews it
