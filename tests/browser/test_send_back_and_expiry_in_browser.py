"""Send back, resubmit and expiry in Chromium: a checker sends a request back from the queue, its
maker edits it in the type's form and resubmits it, and version 2 is approved (its earlier
approval void under a quorum of two); a review just after the time to live is refused while one
just before goes through; and the sweeper takes an expired row off an open queue live."""

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.db import Database, run_blocking
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.factories import promotion_payload
from tests.servers import AppServer

pytestmark = pytest.mark.browser


def _post(server, person, path: str, body: dict) -> dict:
    response = httpx.post(server.url + path, json=body, headers={"Authorization": f"Bearer {person.token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def _submit(server, person, payload: dict) -> str:
    body = {"actionType": "create_promotion", "payload": payload}
    return _post(server, person, "/api/workflow/actions", body)["id"]


def _sql(database_url: str, statement: str, **params) -> None:
    async def work() -> None:
        db = Database.connect(database_url, pool_size=1)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(statement), params)
        finally:
            await db.dispose()

    run_blocking(work)


def _expires_in(database_url: str, action_id: str, seconds: int) -> None:
    _sql(
        database_url,
        "UPDATE workflow_actions SET expires_at = now() + make_interval(secs => :s) WHERE id = :id",
        s=seconds,
        id=action_id,
    )


def _quorum_of_two(server, people) -> None:
    first_admin, second_admin = people("admin"), people("admin")
    change = {"targetType": "create_promotion", "baseVersion": 0, "enabled": True, "requiredApprovals": 2}
    change |= {"ttlHours": 72, "reviewerRole": "checker"}
    change_id = _post(
        server, first_admin, "/api/workflow/actions", {"actionType": "update_policy", "payload": change}
    )["id"]
    _post(server, second_admin, f"/api/workflow/actions/{change_id}/review", {"status": "approved"})


def test_send_back_edit_resubmit_and_approve_version_two(server, people, new_context):
    maker, first, second = people("maker"), people("checker"), people("checker")
    _quorum_of_two(server, people)
    payload = promotion_payload(discountValue="40.00", startDate="2027-03-01", endDate="2027-03-31")
    action_id = _submit(server, maker, payload)

    one = log_in(new_context(), server.url, first, "/queue")
    one.locator(f"#action-row-{action_id}").get_by_role("button", name="Approve").click()
    expect(one.locator("#decisions")).to_contain_text("Approval recorded")

    two = log_in(new_context(), server.url, second, "/queue")
    row = two.locator(f"#action-row-{action_id}")
    expect(row).to_contain_text("1 of 2")
    row.get_by_role("button", name="Send back").click()
    expect(two.locator(f"#action-row-{action_id}")).to_contain_text("A comment is required to send back")
    two.locator(f"#action-row-{action_id}").get_by_role("textbox").fill("Forty percent is too much")
    two.locator(f"#action-row-{action_id}").get_by_role("button", name="Send back").click()
    expect(two.locator("#decisions")).to_contain_text("sent back to its maker")
    expect(two.locator(f"#action-row-{action_id}")).to_have_count(0)

    page = log_in(new_context(), server.url, maker, f"/actions/{action_id}")
    expect(page.locator("#sent-back")).to_contain_text("Forty percent is too much")
    page.get_by_role("button", name="Edit and resubmit").click()
    expect(page.get_by_label("Discount value")).to_have_value("40.00")
    expect(page.get_by_label("Start date")).to_have_value("2027-03-01")
    expect(page.get_by_label("Code", exact=True)).to_have_value(payload["code"])
    assert axe_violations(page) == []
    screenshot(page, "edit-and-resubmit")
    page.get_by_label("Discount value").fill("15")
    page.get_by_role("button", name="Resubmit for review").click()
    expect(page.locator("#resubmitted-note")).to_contain_text("version 2")
    changes = page.locator("#version-2 table.changes")
    expect(changes).to_contain_text("Discount value")
    expect(changes.locator("del")).to_have_text("40.00")
    expect(changes.locator("ins")).to_have_text("15.00")
    assert axe_violations(page) == []
    screenshot(page, "versions")

    # back in the queue, live: version 2 needs both approvals again, the first one is void
    row = one.locator(f"#action-row-{action_id}")
    expect(row).to_contain_text("0 of 2")
    row.get_by_role("button", name="Approve").click()
    expect(one.locator("#decisions .decision-note")).to_have_count(
        2
    )  # the first approval's note, and this one's
    expect(one.locator("#decisions .decision-note").first).to_contain_text("Approval recorded")
    two.goto(f"{server.url}/actions/{action_id}")
    expect(two.locator("#approvals")).to_contain_text("1 of 2")
    two.get_by_role("button", name="Approve").click()
    expect(two.locator(f"#decision-{action_id}")).to_contain_text("Action approved and executed")
    two.reload()
    expect(two.locator("h1 .badge")).to_have_text("approved")


def test_review_just_after_the_time_to_live_is_refused(server, database_url, people, new_context):
    maker, checker = people("maker"), people("checker")
    late = _submit(server, maker, promotion_payload(name="Late one"))
    in_time = _submit(server, maker, promotion_payload(name="In time"))
    queue = log_in(new_context(), server.url, checker, "/queue")
    expect(queue.locator("#queue-status")).to_have_text("2 pending")
    # the page is open; meanwhile one request's time runs out and the other's is about to
    _expires_in(database_url, late, -1)
    _expires_in(database_url, in_time, 30)

    queue.locator(f"#action-row-{late}").get_by_role("button", name="Approve").click()
    expect(queue.locator(f"#action-row-{late}")).to_contain_text("The action has expired")
    queue.locator(f"#action-row-{in_time}").get_by_role("button", name="Approve").click()
    expect(queue.locator("#decisions")).to_contain_text("Action approved and executed")
    queue.goto(f"{server.url}/history?status=expired")
    expect(queue.locator("#history-table")).to_contain_text("Late one")
    expect(queue.locator("#history-table")).not_to_contain_text("In time")


def test_the_sweeper_takes_an_expired_row_off_an_open_queue(database_url, people, new_context):
    maker, checker = people("maker"), people("checker")
    app_server = AppServer(database_url, env={"EXPIRY_SWEEP_SECONDS": "0.2"}).start()
    try:
        stale = _submit(app_server, maker, promotion_payload(name="Stale one"))
        fresh = _submit(app_server, maker, promotion_payload(name="Fresh one"))
        queue = log_in(new_context(), app_server.url, checker, "/queue")
        expect(queue.locator("#queue-status")).to_have_text("2 pending")
        _expires_in(database_url, stale, -1)
        expect(queue.locator(f"#action-row-{stale}")).to_have_count(0)
        expect(queue.locator("#queue-status")).to_have_text("1 pending")
        expect(queue.locator(f"#action-row-{fresh}")).to_be_visible()
        assert queue.url.endswith("/queue")
    finally:
        app_server.stop()
