"""Step-up in Chromium: under a policy that asks for the password, the queue row's decision form has a
password field; approving without it, then with a wrong one, shows why inline in the row (the
password field empty again); the right one approves. The detail page's panel asks for it too."""

import httpx
import pytest
from playwright.sync_api import expect

from app.db import Database, run_blocking
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.factories import promotion_payload, set_policy

pytestmark = pytest.mark.browser


def _step_up_policy(database_url: str) -> None:
    async def work() -> None:
        db = Database.connect(database_url, pool_size=1)
        try:
            await set_policy(db, "create_promotion", step_up=True)
        finally:
            await db.dispose()

    run_blocking(work)


def _submit(server, person) -> str:
    body = {"actionType": "create_promotion", "payload": promotion_payload()}
    response = httpx.post(
        server.url + "/api/workflow/actions", json=body, headers={"Authorization": f"Bearer {person.token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def test_approving_from_the_queue_asks_for_the_password_inline(server, database_url, people, new_context):
    maker, checker = people("maker"), people("checker")
    _step_up_policy(database_url)
    action_id = _submit(server, maker)

    page = log_in(new_context(), server.url, checker, "/queue")
    row = page.locator(f"#action-row-{action_id}")
    password = row.locator(f"#password-{action_id}")
    expect(password).to_be_visible()
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#password-error-{action_id}")).to_have_text("Enter your password to approve")

    page.locator(f"#password-{action_id}").fill("not the password")
    page.locator(f"#action-row-{action_id}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#password-error-{action_id}")).to_have_text("The password is not right")
    expect(page.locator(f"#password-{action_id}")).to_have_value("")
    expect(page.locator(f"#password-{action_id}")).to_have_attribute("aria-invalid", "true")
    assert axe_violations(page) == []
    screenshot(page, "step-up-wrong-password")

    page.locator(f"#password-{action_id}").fill(PASSWORD)
    page.locator(f"#action-row-{action_id}").get_by_role("button", name="Approve").click()
    expect(page.locator("#decisions")).to_contain_text("Action approved and executed")


def test_the_detail_page_panel_asks_for_the_password(server, database_url, people, new_context):
    maker, checker = people("maker"), people("checker")
    _step_up_policy(database_url)
    action_id = _submit(server, maker)

    page = log_in(new_context(), server.url, checker, f"/actions/{action_id}")
    panel = page.locator(f"#decision-{action_id}")
    panel.locator(f"#password-{action_id}").fill(PASSWORD)
    panel.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#decision-{action_id}")).to_contain_text("Action approved and executed")
