"""A maker's new request through the HTML form: inline errors that keep the input, then a confirmation."""

import re

import pytest

from tests.factories import promotion_payload
from tests.http.conftest import HX, csrf_headers, fetch

pytestmark = pytest.mark.anyio


@pytest.fixture
async def maker_session(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    return ana


async def _post(client, data, *, htmx: bool = True):
    headers = csrf_headers(client) | (HX if htmx else {})
    return await client.post("/actions/new", data=data, headers=headers)


def _label_of(html: str, field: str) -> str:
    """A field's control and what stands beside it: up to the next field, fieldset or button."""
    after = rf'<label for="field-(?!{field}")|<fieldset|<button|<div class="grid"|$'
    found = re.search(rf'<label for="field-{field}">.*?(?={after})', html, re.DOTALL)
    assert found, f"no label for {field}"
    return found.group(0)


def _fieldset_of(html: str, field: str) -> str:
    found = re.search(
        rf"<fieldset[^>]*>\s*<legend>[^<]*</legend>.*?name=\"{field}\".*?</fieldset>", html, re.DOTALL
    )
    assert found, f"no fieldset for {field}"
    return found.group(0)


async def _actions(db):
    return await fetch(db, "SELECT id, action_type, payload, maker_id FROM workflow_actions")


async def test_invalid_fields_show_errors_inline_and_keep_the_input(client, db, maker_session):
    response = await _post(
        client,
        {
            "actionType": "create_user",
            "username": "x!",
            "fullName": '<b>Kept & "quoted"</b>',
            "email": "not-an-email",
            "roles": ["checker", "admin"],
        },
    )

    assert response.status_code == 422
    html = response.text
    assert "<html" not in html
    assert html.lstrip().startswith('<article id="request-form">')
    assert 'id="form-error"' in html

    username = _label_of(html, "username")
    assert 'id="error-username" class="error"' in username
    assert 'aria-invalid="true" aria-describedby="error-username"' in username
    assert 'value="x!"' in username

    email = _label_of(html, "email")
    assert 'id="error-email" class="error">Give an email address such as ana@example.com</small>' in email
    assert 'value="not-an-email"' in email

    full_name = _label_of(html, "fullName")
    assert "error-fullName" not in full_name  # only the wrong fields are marked
    assert 'value="&lt;b&gt;Kept &amp; &#34;quoted&#34;&lt;/b&gt;"' in full_name
    assert "<b>Kept" not in html

    roles = _fieldset_of(html, "roles")
    assert re.search(r'value="checker"\s+checked', roles)
    assert re.search(r'value="admin"\s+checked', roles)
    assert not re.search(r'value="maker"\s+checked', roles)

    assert await _actions(db) == []


async def test_a_blank_required_field_is_reported_as_required(client, db, maker_session):
    response = await _post(
        client,
        {"actionType": "create_user", "username": "valid.name", "fullName": "  ", "email": "a@b.example"},
    )
    assert response.status_code == 422
    assert 'id="error-fullName" class="error">Required</small>' in _label_of(response.text, "fullName")
    assert 'value="valid.name"' in _label_of(response.text, "username")


async def test_a_conflict_with_current_data_is_shown_on_its_field(client, db, maker_session):
    response = await _post(
        client,
        {
            "actionType": "create_user",
            "username": maker_session.user.username,
            "fullName": "Twin",
            "email": "twin@example.com",
            "roles": ["maker"],
        },
    )
    assert response.status_code == 422
    assert "is already taken" in _label_of(response.text, "username")


async def test_errors_without_htmx_come_back_in_the_full_page(client, db, maker_session):
    response = await _post(
        client, {"actionType": "create_promotion", **promotion_payload(code="x")}, htmx=False
    )
    assert response.status_code == 422
    assert "<html" in response.text
    assert 'id="error-code"' in _label_of(response.text, "code")


async def test_valid_create_user_confirms_with_a_link_and_keeps_the_checked_roles(client, db, maker_session):
    response = await _post(
        client,
        {
            "actionType": "create_user",
            "username": "New.Person",
            "fullName": "New Person",
            "email": "new.person@example.com",
            "roles": ["maker", "checker"],
        },
    )

    assert response.status_code == 200, response.text
    assert "<html" not in response.text
    assert "Request submitted" in response.text
    [(action_id, action_type, payload, maker_id)] = await _actions(db)
    assert f'href="/actions/{action_id}" id="submitted-link"' in response.text
    assert action_type == "create_user"
    assert maker_id == maker_session.user.id
    assert payload["roles"] == ["maker", "checker"]
    assert payload["username"] == "new.person"
    assert (await client.get(f"/actions/{action_id}")).status_code == 200


async def test_a_single_checked_role_is_still_a_list(client, db, maker_session):
    response = await _post(
        client,
        {
            "actionType": "create_user",
            "username": "solo",
            "fullName": "Solo",
            "email": "solo@example.com",
            "roles": "admin",
        },
    )
    assert response.status_code == 200, response.text
    [(_, _, payload, _)] = await _actions(db)
    assert payload["roles"] == ["admin"]


async def test_valid_promotion_and_account_through_the_form(client, db, maker_session):
    promotion = promotion_payload()
    response = await _post(client, {"actionType": "create_promotion", **promotion})
    assert response.status_code == 200, response.text

    form = await client.get("/actions/new", params={"actionType": "create_account"}, headers=HX)
    assert f'value="{maker_session.id}"' in form.text  # the owner picker lists users
    response = await _post(
        client,
        {
            "actionType": "create_account",
            "userId": maker_session.id,
            "accountNumber": "ACFORM123456",
            "accountType": "savings",
            "balance": "12.50",
            "currency": "EUR",
        },
    )
    assert response.status_code == 200, response.text
    types = sorted(action_type for _, action_type, _, _ in await _actions(db))
    assert types == ["create_account", "create_promotion"]


async def test_without_htmx_the_confirmation_is_a_full_page(client, db, maker_session):
    response = await _post(client, {"actionType": "create_promotion", **promotion_payload()}, htmx=False)
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'id="submitted-link"' in response.text


async def test_an_unknown_type_is_refused_without_a_server_error(client, db, maker_session):
    response = await _post(client, {"actionType": "drop_tables", "name": "x"}, htmx=False)
    assert 400 <= response.status_code < 500
    assert await _actions(db) == []


async def test_a_user_without_the_maker_role_cannot_open_or_post_the_form(client, db, login, person):
    bob = await person("checker")
    assert (await login(bob.user.username)).status_code == 303

    page = await client.get("/actions/new")
    assert page.status_code == 403
    assert 'href="/actions/new"' not in (await client.get("/queue")).text  # nor is it in the menu

    response = await client.post(
        "/actions/new",
        data={"actionType": "create_promotion", **promotion_payload()},
        headers=csrf_headers(client),
    )
    assert response.status_code == 403
    assert await _actions(db) == []


async def test_a_duplicate_of_a_pending_request_is_a_409_linking_to_it_under_its_field(
    client, db, maker_session
):
    first = {"actionType": "create_promotion", **promotion_payload(code="FORM-DUP")}
    assert (await _post(client, first)).status_code == 200
    [(pending_id, *_)] = await _actions(db)

    response = await _post(client, first | {"code": "form-dup", "name": "Kept <name>"})

    assert response.status_code == 409, response.text
    code = _label_of(response.text, "code")
    assert 'aria-invalid="true" aria-describedby="error-code"' in code
    assert f'<a href="/actions/{pending_id}" hx-boost="false">{pending_id}</a>' in code
    assert "promotion code FORM-DUP" in code
    assert 'value="Kept &lt;name&gt;"' in _label_of(response.text, "name")
    assert len(await _actions(db)) == 1
