"""A request duplicating a pending one is refused in the form, under its field, with a link to that one."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.factories import promotion_payload

pytestmark = pytest.mark.browser


def test_a_duplicate_promotion_code_links_to_the_pending_request(server, people, new_context):
    first_maker, second_maker = people("maker"), people("maker")
    response = httpx.post(
        f"{server.url}/api/workflow/actions",
        json={"actionType": "create_promotion", "payload": promotion_payload(code="BROWSER-DUP")},
        headers={"Authorization": f"Bearer {first_maker.token}"},
    )
    assert response.status_code == 201, response.text
    pending_id = response.json()["data"]["id"]

    page = log_in(new_context(), server.url, second_maker, "/actions/new?actionType=create_promotion")
    page.get_by_label("Code", exact=True).fill("browser-dup")
    page.get_by_label("Name", exact=True).fill("Same code, other name")
    page.get_by_label("Discount type").select_option("fixed")
    page.get_by_label("Discount value").fill("5")
    page.get_by_label("Start date").fill("2027-02-01")
    page.get_by_label("End date", exact=True).fill("2027-03-01")
    page.get_by_role("button", name="Submit for review").click()

    error = page.locator("#error-code")
    expect(error).to_contain_text("is already pending for the promotion code BROWSER-DUP")
    expect(page.locator("#field-code")).to_be_focused()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Same code, other name")
    screenshot(page, "new-request-duplicate")

    error.get_by_role("link", name=pending_id).click()
    page.wait_for_url(f"{server.url}/actions/{pending_id}")
    expect(page.locator("main")).to_contain_text("BROWSER-DUP")
