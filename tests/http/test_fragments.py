"""The same URL answers a full page, or only its fragment to a non-boosted htmx request."""

import pytest

pytestmark = pytest.mark.anyio

PAGES = [
    ("/queue", 'id="queue-rows"'),
    ("/history", 'id="history-table"'),
    ("/actions/new", 'id="request-form"'),
]


@pytest.fixture
async def logged_in(client, login, person):
    ana = await person("maker", "checker")
    assert (await login(ana.user.username)).status_code == 303
    return ana


@pytest.mark.parametrize(("path", "marker"), PAGES)
async def test_plain_get_is_a_full_page(client, logged_in, path, marker):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text
    assert marker in response.text
    assert "HX-Request" in response.headers["vary"]


@pytest.mark.parametrize(("path", "marker"), PAGES)
async def test_htmx_get_is_only_the_fragment(client, logged_in, path, marker):
    response = await client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<nav" not in response.text
    assert response.text.lstrip().startswith(f"<{'div' if path != '/actions/new' else 'article'} {marker}")
    assert "HX-Request" in response.headers["vary"]


@pytest.mark.parametrize(("path", "marker"), PAGES)
async def test_boosted_htmx_get_is_the_full_page(client, logged_in, path, marker):
    response = await client.get(path, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 200
    assert "<html" in response.text
    assert marker in response.text
    assert "HX-Request" in response.headers["vary"]


async def test_queue_fragment_updates_the_pending_count_out_of_band(client, logged_in):
    response = await client.get("/queue", headers={"HX-Request": "true"})
    assert 'id="queue-status" hx-swap-oob="innerHTML">0 pending' in response.text
    full = await client.get("/queue")
    assert "hx-swap-oob" not in full.text.split('id="queue-rows"', 1)[1]


async def test_request_form_fragment_follows_the_chosen_type(client, logged_in):
    response = await client.get(
        "/actions/new", params={"actionType": "create_account"}, headers={"HX-Request": "true"}
    )
    assert 'data-action-type="create_account"' in response.text
    assert 'name="accountNumber"' in response.text
    assert 'name="username"' not in response.text
    response = await client.get(
        "/actions/new", params={"actionType": "create_user"}, headers={"HX-Request": "true"}
    )
    assert 'name="username"' in response.text
    assert 'name="roles"' in response.text


async def test_page_bodies_send_the_csrf_token_as_an_htmx_header(client, logged_in):
    response = await client.get("/queue")
    token = client.cookies.get("mc_csrftoken")
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in response.text
