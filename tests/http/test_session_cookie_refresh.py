"""An unchanged session is not written back, but the browser's cookie is still renewed."""

import pytest

from tests.http.conftest import SESSION_COOKIE, fetch

pytestmark = pytest.mark.anyio


async def test_each_request_renews_the_cookie_with_the_same_session_id(client, db, login, person):
    actor = await person("checker")
    assert (await login(actor.user.username)).status_code == 303
    session_id = client.cookies.get(SESSION_COOKIE)

    response = await client.get("/queue", follow_redirects=False)

    assert response.status_code == 200
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    assert cookie.startswith(f"{SESSION_COOKIE}={session_id};")
    assert "Max-Age=1800" in cookie
    rows = await fetch(db, "SELECT count(*) FROM sessions")
    assert rows[0][0] == 1
