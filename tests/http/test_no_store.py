"""Signed-in content is never stored by the browser (Cache-Control: no-store); static assets may be."""

import pytest

from tests.factories import promotion_payload, submit
from tests.http.conftest import HX

pytestmark = pytest.mark.anyio


def assert_not_stored(response) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    directives = [d.strip() for d in response.headers.get("cache-control", "").split(",")]
    assert "no-store" in directives, where


async def test_signed_in_pages_fragments_and_api_answers_are_not_stored(client, login, person, maker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    for path in ["/queue", "/history", f"/actions/{action['id']}"]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert_not_stored(page)
        fragment = await client.get(path, headers=HX)
        assert fragment.status_code == 200, path
        assert_not_stored(fragment)
    api = await client.get("/api/workflow/actions", headers=maker.headers)
    assert api.status_code == 200
    assert_not_stored(api)


async def test_the_login_page_and_a_redirect_to_it_are_not_stored(client):
    assert_not_stored(await client.get("/login"))  # it carries a CSRF token
    assert_not_stored(await client.get("/queue", follow_redirects=False))


async def test_static_assets_stay_cacheable(client):
    for path in ["/static/css/app.css", "/static/js/app.js"]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("cache-control", ""), path
