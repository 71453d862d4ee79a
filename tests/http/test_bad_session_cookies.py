"""A session cookie that is junk (a NUL byte, control characters, far too long, not ours) is no
session: pages send the visitor to log in, fragments ask htmx to, the API answers 401. Never a 500."""

import pytest

from app.accounts.sessions import is_session_id
from tests.http.conftest import HX, SESSION_COOKIE, fetch, use_session_cookie

pytestmark = pytest.mark.anyio

JUNK = ["%00", "abc%00def", "%01%02%7f", "%ff%fe", "x" * 5000, "%E2%80%AE", '"quoted"', "%"]


@pytest.mark.parametrize("value", JUNK)
async def test_a_junk_session_cookie_is_no_session(client, value):
    cookie = {"Cookie": f"{SESSION_COOKIE}={value}"}

    page = await client.get("/", headers=cookie, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")

    fragment = await client.get("/queue/", headers=cookie | HX, follow_redirects=False)
    assert fragment.status_code == 200
    assert fragment.headers["HX-Redirect"].startswith("/login")

    api = await client.get("/api/workflow/actions", headers=cookie | {"Accept": "application/json"})
    assert api.status_code == 401

    # the public pages too: the session is read there as well
    assert (await client.get("/login", headers=cookie)).status_code == 200


async def test_logging_in_over_a_junk_cookie_replaces_it(client, db, login, person):
    ana = await person("maker")
    use_session_cookie(client, "abc%00def")

    assert (await login(ana.user.username)).status_code == 303

    issued = client.cookies.get(SESSION_COOKIE)
    assert issued and is_session_id(issued)
    assert [row[0] for row in await fetch(db, "SELECT id FROM sessions")] == [issued]
    assert (await client.get("/history", follow_redirects=False)).status_code == 200


@pytest.mark.parametrize("value", ["%00", "abc%00def", "x" * 5000])
async def test_a_junk_csrf_cookie_is_refused_not_an_error(client, value):
    page = await client.get("/login")
    assert page.status_code == 200
    response = await client.post(
        "/login",
        data={"username": "nobody", "password": "whatever", "_csrf_token": "x"},
        headers={"Cookie": f"mc_csrftoken={value}"},
        follow_redirects=False,
    )
    assert response.status_code == 403
