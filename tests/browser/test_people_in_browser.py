"""People under dual control in Chromium (issue 9 item 8, issue 8 item 10): an admin proposes changes
from the Users and Undelivered mail pages, a checker approves them; everyone manages their own tokens."""

import time
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from app.db import Database, run_blocking
from app.mail import MAX_ATTEMPTS
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.factories import activation_link, make_actor

pytestmark = pytest.mark.browser


def _approve(server, checker, action_id: str) -> dict:
    response = httpx.post(
        f"{server.url}/api/workflow/actions/{action_id}/review",
        json={"status": "approved"},
        headers={"Authorization": f"Bearer {checker.token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _pending_id(page) -> str:
    href = page.locator("#submitted-link").get_attribute("href")
    assert href and href.startswith("/actions/")
    return href.rsplit("/", 1)[1]


def test_an_admin_proposes_a_role_change_a_checker_approves_it_in_the_queue(server, people, new_context):
    admin, checker = people("admin"), people("checker")
    target = people("maker", username=f"ana-{uuid.uuid4().hex[:4]}")
    page = log_in(new_context(), server.url, admin, "/history")
    page.get_by_role("link", name="Users").click()
    expect(page.locator("h1")).to_have_text("Users")
    row = page.locator(f"#user-row-{target.user_id}")
    expect(row).to_contain_text("maker")
    expect(row).to_contain_text("active")
    assert axe_violations(page) == []
    screenshot(page, "people-users")

    row.get_by_role("link", name=f"Change {target.username}").click()
    expect(page.get_by_label("Full name")).to_have_value(target.username.title())
    expect(page.get_by_label("Maker")).to_be_checked()
    expect(page.get_by_label("Checker")).not_to_be_checked()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#form-error")).to_contain_text("Nothing would change")
    assert axe_violations(page) == []
    page.get_by_label("Checker").check()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("heading", name="Request submitted")).to_be_visible()
    expect(page.locator("main")).to_contain_text("roles maker → maker, checker")
    action_id = _pending_id(page)

    page.goto(server.url + "/admin/users")
    pending = page.locator(f"#user-row-{target.user_id}").get_by_role("link", name="Update user")
    expect(pending).to_have_attribute("href", f"/actions/{action_id}")

    queue = log_in(new_context(), server.url, checker, "/queue")
    queue_row = queue.locator(f"#action-row-{action_id}")
    expect(queue_row).to_contain_text("Update user")
    queue_row.get_by_role("button", name="Approve").click()
    expect(queue.locator("#decisions")).to_contain_text("Action approved")

    page.reload()
    row = page.locator(f"#user-row-{target.user_id}")
    expect(row).to_contain_text("maker, checker")
    expect(row.get_by_role("link", name="Update user")).to_have_count(0)


def test_an_approved_deactivation_ends_the_users_session(server, people, new_context):
    admin, checker, target = people("admin"), people("checker"), people("maker")
    theirs = log_in(new_context(), server.url, target, "/history")
    page = log_in(new_context(), server.url, admin, f"/admin/users/{target.user_id}/change")
    page.get_by_label("Status").select_option("false")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("main")).to_contain_text("deactivate")
    _approve(server, checker, _pending_id(page))

    theirs.reload()
    expect(theirs.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(server.url + "/admin/users")
    expect(page.locator(f"#user-row-{target.user_id}")).to_contain_text("inactive")


def _undelivered_activation(database_url: str, username: str) -> tuple[str, str]:
    """A user awaiting activation whose activation mail failed MAX_ATTEMPTS times: (id, email)."""

    async def work() -> tuple[str, str]:
        db = Database.connect(database_url, pool_size=1)
        try:
            actor = await make_actor(db, "maker", username=username)
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO outbound_emails (id, to_address, subject, body, attempts, last_error,"
                    f" created_at) VALUES (gen_random_uuid(), '{actor.user.email}', 'Activate your account',"
                    f" 'old link', {MAX_ATTEMPTS}, 'Connection refused', now())"
                )
            return actor.id, actor.user.email
        finally:
            await db.dispose()

    return run_blocking(work)


def _link_when_mailed(address: str, timeout: float = 10.0) -> str:
    """The activation link mailed to address, once the server's after-response delivery wrote it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return activation_link(address)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_an_undelivered_activation_gets_a_new_link_once_a_checker_approves(
    server, database_url, people, new_context
):
    admin, checker = people("admin"), people("checker")
    user_id, email = _undelivered_activation(database_url, f"lost-{uuid.uuid4().hex[:4]}")
    page = log_in(new_context(), server.url, admin, "/history")
    page.get_by_role("link", name="Undelivered mail").click()
    row = page.locator("#failed-mail tbody tr", has_text=email)
    expect(row).to_contain_text("Connection refused")
    expect(row).to_contain_text("awaiting activation")
    assert axe_violations(page) == []
    screenshot(page, "people-outbox")
    row.get_by_role("button", name="Resend activation link").click()
    expect(page.get_by_role("heading", name="Request submitted")).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"at {email}")
    action_id = _pending_id(page)
    page.goto(server.url + "/admin/outbox")
    expect(page.locator("#failed-mail tbody tr", has_text=email).get_by_role("button")).to_have_count(0)

    result = _approve(server, checker, action_id)
    assert result["executionResult"]["activationSentTo"] == email
    path = "/activate/" + _link_when_mailed(email).rsplit("/activate/", 1)[1]
    visitor = new_context().new_page()
    visitor.goto(server.url + path)
    visitor.get_by_label("New password").fill("a long enough password")
    visitor.get_by_label("Repeat the password").fill("a long enough password")
    visitor.get_by_role("button", name="Set password").click()
    expect(visitor.get_by_role("heading", name="Account activated")).to_be_visible()
    page.goto(server.url + "/admin/users")
    expect(page.locator(f"#user-row-{user_id}")).to_contain_text("active")
    expect(page.locator(f"#user-row-{user_id}")).not_to_contain_text("awaiting")


def test_a_user_creates_and_revokes_their_own_token(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/history")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("nightly report")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-value").inner_text()
    assert secret.startswith("mc_")
    expect(page.locator("#tokens")).to_contain_text("nightly report")
    assert axe_violations(page) == []
    screenshot(page, "people-tokens")
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(server.url + "/api/workflow/actions", headers=headers).status_code == 200

    page.reload()
    expect(page.locator("#new-token-value")).to_have_count(0)  # shown once
    expect(page.locator("main")).not_to_contain_text(secret)
    page.get_by_role("button", name="Revoke nightly report").click()
    expect(page.locator("#token-revoked")).to_contain_text("nightly report")
    assert httpx.get(server.url + "/api/workflow/actions", headers=headers).status_code == 401
