"""Updates to existing records in the browser (issue 10 items 2 to 4): the maker finds a promotion by
its code, gets the form filled with its current values, changes one field and submits; the checker
sees the change in the queue row and on the detail page; once the promotion changed since, the page
shows three columns and an approval is refused with the 409's message."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from app.db import Database, run_blocking
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.records import make_promotion

pytestmark = pytest.mark.browser


def _promotion(database_url: str, code: str) -> str:
    async def work() -> str:
        db = Database.connect(database_url, pool_size=1)
        try:
            return str((await make_promotion(db, code=code)).id)
        finally:
            await db.dispose()

    return run_blocking(work)


def _api(server, person, path: str, body: dict) -> dict:
    response = httpx.post(
        f"{server.url}/api/workflow/actions{path}",
        json=body,
        headers={"Authorization": f"Bearer {person.token}"},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def test_a_maker_changes_a_promotion_from_its_current_values_and_the_checker_sees_the_diff(
    server, database_url, people, new_context
):
    maker, checker = people("maker"), people("checker")
    _promotion(database_url, "EDIT-ME")

    page = log_in(new_context(), server.url, maker, "/actions/new?actionType=update_promotion")
    expect(page.locator("#pick-first")).to_be_visible()
    page.get_by_label("Promotion code").fill("nope")
    page.get_by_role("button", name="Load current values").click()
    expect(page.locator("#error-record")).to_have_text("No promotion has this promotion code")
    assert axe_violations(page) == []
    page.get_by_label("Promotion code").fill("edit-me")
    page.get_by_role("button", name="Load current values").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Spring sale")
    expect(page.get_by_label("End date")).to_have_value("2027-03-31")
    expect(page.get_by_label("Discount type")).to_have_value("percentage")
    expect(page).to_have_url(re.compile(r"/actions/new\?actionType=update_promotion&record=edit-me$"))
    screenshot(page, "update-promotion-prefilled")
    assert axe_violations(page) == []
    page.get_by_label("End date").fill("2027-04-30")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("main")).to_contain_text(
        "Update promotion EDIT-ME (Spring sale): end date 2027-03-31 → 2027-04-30"
    )

    queue = log_in(new_context(), server.url, checker, "/queue")
    row = queue.locator("tr", has_text="Update promotion EDIT-ME")
    change = row.locator(".diff li")
    expect(change).to_have_count(1)
    expect(change).to_have_text("End date: 2027-03-31 → 2027-04-30")
    screenshot(queue, "queue-row-diff")
    assert axe_violations(queue) == []
    row.get_by_role("link", name="Update promotion").click()
    changes = queue.locator("#record-changes")
    expect(changes.locator("thead th")).to_have_text(["Field", "Current", "Proposed"])
    expect(changes.locator("tbody tr")).to_have_text([re.compile(r"End date\s+2027-03-31\s+2027-04-30")])
    screenshot(queue, "detail-diff")


def test_a_stale_update_shows_three_columns_and_its_approval_is_refused(
    server, database_url, people, new_context
):
    maker, checker, other_checker = people("maker"), people("checker"), people("checker")
    promotion_id = _promotion(database_url, "STALE-ME")
    renaming = _api(
        server,
        maker,
        "",
        {"actionType": "update_promotion", "payload": {"promotionId": promotion_id, "name": "Renamed"}},
    )
    extending = _api(
        server,
        maker,
        "",
        {"actionType": "update_promotion", "payload": {"promotionId": promotion_id, "endDate": "2027-04-30"}},
    )
    _api(server, checker, f"/{renaming['id']}/review", {"status": "approved"})

    page = log_in(new_context(), server.url, other_checker, f"/actions/{extending['id']}")
    changes = page.locator("#record-changes")
    expect(changes.locator("thead th")).to_have_text(["Field", "At submission", "Now", "Proposed"])
    expect(page.locator("#stale-note")).to_contain_text(
        "The promotion changed since this request was submitted"
    )
    screenshot(page, "detail-stale-three-columns")
    page.get_by_role("button", name="Approve").click()
    refusal = page.locator(".decision-panel .error[role=alert]")
    expect(refusal).to_contain_text(
        "The action cannot be approved: the promotion changed since this request was submitted"
    )
    screenshot(page, "detail-stale-refused")
    assert axe_violations(page) == []
    # nothing executed: the end date is as it was, the request still pending
    answer = httpx.get(
        f"{server.url}/api/workflow/actions/{extending['id']}",
        headers={"Authorization": f"Bearer {checker.token}"},
    )
    assert (answer.json()["data"]["status"], answer.json()["data"]["stale"]) == ("pending", True)
