"""Bulk review in Chromium: a checker ticks rows of the live queue (the ticks survive its refreshes),
presses Review selected, sees each request allowed or refused with the reason (one ran past its time
to live meanwhile, one asks for the password), approves the allowed ones with the password,
and reads each one's outcome and the batch's id."""

import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

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


def _expire(database_url: str, action_id: str) -> None:
    async def work() -> None:
        db = Database.connect(database_url, pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE workflow_actions SET expires_at = now() - interval '1 minute' WHERE id = :id"
                    ),
                    {"id": action_id},
                )
        finally:
            await db.dispose()

    run_blocking(work)


def _post(server, person, path: str, body: dict) -> dict:
    response = httpx.post(server.url + path, json=body, headers={"Authorization": f"Bearer {person.token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def _submit(server, person) -> str:
    body = {"actionType": "create_promotion", "payload": promotion_payload()}
    return _post(server, person, "/api/workflow/actions", body)["id"]


def test_review_selected_prechecks_then_approves_the_allowed_ones(server, database_url, people, new_context):
    maker, checker = people("maker"), people("checker")
    first, gone = _submit(server, maker), _submit(server, maker)
    _step_up_policy(database_url)
    stepped = _submit(server, maker)

    page = log_in(new_context(), server.url, checker, "/queue")
    for action_id in (first, gone, stepped):
        page.locator(f"#select-{action_id}").check()
    # a new request refreshes the rows live: the ticks stay
    late = _submit(server, maker)
    expect(page.locator(f"#action-row-{late}")).to_be_visible()
    for action_id in (first, gone, stepped):
        expect(page.locator(f"#select-{action_id}")).to_be_checked()
    expect(page.locator(f"#select-{late}")).not_to_be_checked()
    screenshot(page, "bulk-queue")
    _expire(database_url, gone)

    page.get_by_role("button", name="Review selected").click()
    page.wait_for_url(re.compile(r".*/queue/bulk-review$"))
    expect(page.locator(f"#precheck-{first}")).to_have_attribute("data-allowed", "true")
    expect(page.locator(f"#precheck-{gone}")).to_have_attribute("data-allowed", "false")
    expect(page.locator(f"#precheck-{gone} td.check").first).to_contain_text("The action has expired")
    expect(page.locator(f"#precheck-{stepped}")).to_contain_text("needs your password")
    expect(page.locator(f"#precheck-{late}")).to_have_count(0)
    assert axe_violations(page) == []
    screenshot(page, "bulk-precheck")

    page.get_by_label("Your password").fill("a wrong one")
    page.get_by_role("button", name="Approve 2 allowed").click()
    expect(page.locator("#bulk-password-error")).to_have_text("The password is not right")

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Approve 2 allowed").click()
    expect(page.locator("#bulk-summary")).to_contain_text("2 of 2 decided, 0 refused")
    expect(page.locator(f"#outcome-{first}")).to_have_attribute("data-outcome", "approved")
    expect(page.locator(f"#outcome-{stepped}")).to_have_attribute("data-outcome", "approved")
    expect(page.locator("#batch-id")).to_have_text(re.compile(r"^[0-9a-f-]{36}$"))
    assert axe_violations(page) == []
    screenshot(page, "bulk-outcome")
