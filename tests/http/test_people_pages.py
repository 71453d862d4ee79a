"""The admin's Users and Undelivered mail pages and everyone's API tokens page, through a browser session:
changes to people are proposed as requests (update_user, resend_activation), never made directly."""

import re
import uuid

import pytest

from app.mail import MAX_ATTEMPTS
from tests.factories import make_actor
from tests.http.conftest import csrf_from_page, execute, fetch

pytestmark = pytest.mark.anyio


@pytest.fixture
async def admin_session(client, login, person):
    admin = await person("admin", "checker")
    assert (await login(admin.user.username)).status_code == 303
    return admin


async def _post(client, path: str, data: dict | None = None, *, page: str):
    """Submit a form as a browser does: with the CSRF token of the page that carries it."""
    token = csrf_from_page((await client.get(page)).text)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _actions(db):
    return await fetch(db, "SELECT action_type, payload, maker_id, status FROM workflow_actions")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/outbox", "/admin/users/{id}/change"])
async def test_admin_pages_are_refused_to_others(client, db, login, person, path):
    maker = await person("maker", "checker")
    page = path.format(id=maker.id)
    anonymous = await client.get(page, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert (await login(maker.user.username)).status_code == 303
    assert (await client.get(page)).status_code == 403
    home = await client.get("/history")
    assert 'href="/admin/users"' not in home.text
    assert 'href="/account/tokens"' in home.text


async def test_a_maker_cannot_post_to_admin_forms(client, db, login, person):
    maker = await person("maker")
    target = await person("maker")
    assert (await login(maker.user.username)).status_code == 303
    for path in (f"/admin/users/{target.id}/change", f"/admin/users/{target.id}/resend-activation"):
        response = await _post(
            client, path, {"fullName": "X", "active": "true", "roles": "maker"}, page="/history"
        )
        assert response.status_code == 403
    assert await _actions(db) == []


async def test_users_page_shows_roles_status_last_login_and_pending_changes(client, db, admin_session):
    waiting = await make_actor(db, "maker", username="waiting-one")
    html = (await client.get("/admin/users")).text
    assert 'href="/admin/users" aria-current="page"' in html
    admin_row = re.search(rf'<tr id="user-row-{admin_session.id}">.*?</tr>', html, re.DOTALL).group(0)
    assert "admin, checker" in admin_row
    assert ">active<" in admin_row
    assert "<time" in admin_row  # logged in just now
    row = re.search(rf'<tr id="user-row-{waiting.id}">.*?</tr>', html, re.DOTALL).group(0)
    assert ">awaiting activation<" in row
    assert "Never" in row
    assert f'action="/admin/users/{waiting.id}/resend-activation"' in row
    assert f'href="/admin/users/{waiting.id}/change"' in row

    submitted = await _post(client, f"/admin/users/{waiting.id}/resend-activation", page="/admin/users")
    assert submitted.status_code == 200, submitted.text
    assert "Request submitted" in submitted.text
    [(kind, payload, maker_id, status)] = await _actions(db)
    assert (kind, payload, maker_id, status) == (
        "resend_activation",
        {"userId": waiting.id},
        admin_session.user.id,
        "pending",
    )
    row = re.search(
        rf'<tr id="user-row-{waiting.id}">.*?</tr>', (await client.get("/admin/users")).text, re.DOTALL
    )
    assert "Resend activation link" in row.group(0)  # the link to the pending request...
    assert "resend-activation" not in row.group(0)  # ...and no second proposal while one waits


async def test_the_change_form_is_prefilled_and_proposes_only_what_changed(client, db, admin_session):
    target = await make_actor(db, "maker", username="ana-target")
    form = (await client.get(f"/admin/users/{target.id}/change")).text
    assert f'value="{target.user.full_name}"' in form
    assert re.search(r'value="maker"\s+checked', form)
    assert not re.search(r'value="checker"\s+checked', form)
    assert re.search(r'<option value="true"\s+selected', form)

    unchanged = {"fullName": target.user.full_name, "roles": "maker", "active": "true"}
    response = await _post(
        client, f"/admin/users/{target.id}/change", unchanged, page=f"/admin/users/{target.id}/change"
    )
    assert response.status_code == 422
    assert "Nothing would change" in response.text
    assert await _actions(db) == []

    changed = {
        "fullName": target.user.full_name,
        "roles": ["maker", "checker"],
        "active": "true",
        "userId": str(uuid.uuid4()),
    }
    response = await _post(
        client, f"/admin/users/{target.id}/change", changed, page=f"/admin/users/{target.id}/change"
    )
    assert response.status_code == 200, response.text
    assert "Request submitted" in response.text
    [(kind, payload, _, _)] = await _actions(db)
    # the user of the path, whatever the form claims; only the roles, which changed
    assert (kind, payload) == ("update_user", {"userId": target.id, "roles": ["maker", "checker"]})


async def test_the_change_form_shows_errors_inline(client, db, admin_session):
    target = await make_actor(db, "maker")
    bad = {"fullName": "", "active": "false"}  # no role ticked, no name
    response = await _post(
        client, f"/admin/users/{target.id}/change", bad, page=f"/admin/users/{target.id}/change"
    )
    assert response.status_code == 422
    assert 'id="error-roles"' in response.text
    assert 'id="error-fullName"' in response.text
    assert re.search(r'<option value="false"\s+selected', response.text)  # the input is kept
    assert await _actions(db) == []


async def test_resend_for_an_activated_user_is_refused_with_a_message(client, db, admin_session):
    response = await _post(client, f"/admin/users/{admin_session.id}/resend-activation", page="/admin/users")
    assert response.status_code == 422
    assert "activated their account already" in response.text
    assert (await client.get(f"/admin/users/{uuid.uuid4()}/change")).status_code == 404
    assert (await client.get("/admin/users/nope/change")).status_code == 404


async def test_undelivered_mail_page_offers_a_new_link_through_the_workflow(client, db, admin_session):
    waiting = await make_actor(db, "maker")
    await execute(
        db,
        "INSERT INTO outbound_emails (id, to_address, subject, body, attempts, last_error, created_at)"
        " VALUES (:id, :to, 'Activate your account', 'the secret link', :n, 'Connection refused', now())",
        id=uuid.uuid4(),
        to=waiting.user.email,
        n=MAX_ATTEMPTS,
    )
    html = (await client.get("/admin/outbox")).text
    assert waiting.user.email in html
    assert "Connection refused" in html
    assert "the secret link" not in html
    assert f'action="/admin/users/{waiting.id}/resend-activation"' in html
    response = await _post(client, f"/admin/users/{waiting.id}/resend-activation", page="/admin/outbox")
    assert response.status_code == 200
    assert [row[0] for row in await _actions(db)] == ["resend_activation"]


async def test_tokens_page_creates_shows_once_lists_and_revokes(client, db, login, person):
    maker = await person("maker")
    assert (await login(maker.user.username)).status_code == 303
    page = await client.get("/account/tokens")
    assert page.status_code == 200
    assert 'aria-current="page"' in page.text

    created = await _post(client, "/account/tokens", {"name": "nightly"}, page="/account/tokens")
    assert created.status_code == 200
    secret = re.search(r'<code id="new-token-value">([^<]+)</code>', created.text).group(1)
    assert (
        await client.get("/api/workflow/actions", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 200
    listed = (await client.get("/account/tokens")).text
    assert "nightly" in listed
    assert secret not in listed

    [(token_id,)] = await fetch(db, "SELECT id FROM api_tokens WHERE name = 'nightly'")
    revoked = await _post(client, f"/account/tokens/{token_id}/revoke", page="/account/tokens")
    assert revoked.status_code == 200
    assert "is revoked" in revoked.text
    assert (
        await client.get("/api/workflow/actions", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 401


async def test_tokens_page_refuses_a_blank_name_and_another_users_token(client, db, login, person):
    maker = await person("maker")
    other = await person("checker")
    assert (await login(maker.user.username)).status_code == 303
    blank = await _post(client, "/account/tokens", {"name": "  "}, page="/account/tokens")
    assert blank.status_code == 422
    assert 'id="error-name"' in blank.text
    [(theirs,)] = await fetch(db, "SELECT id FROM api_tokens WHERE user_id = :id", id=other.user.id)
    assert str(theirs) not in (await client.get("/account/tokens")).text
    response = await _post(client, f"/account/tokens/{theirs}/revoke", page="/account/tokens")
    assert response.status_code == 404
    assert await fetch(db, "SELECT revoked_at FROM api_tokens WHERE id = :id", id=theirs) == [(None,)]
