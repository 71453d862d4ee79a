"""My requests in Chromium (issue 9 items 4 and 9): a decision reaches its maker live, as a toast and
a count in the header; a withdrawal from My requests leaves the checker's open queue live."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Person, log_in, screenshot
from tests.factories import promotion_payload

pytestmark = pytest.mark.browser


def submit_promotion(base_url: str, maker: Person, code: str) -> str:
    payload = promotion_payload(code=code, name=f"Promotion {code}")
    response = httpx.post(
        f"{base_url}/api/workflow/actions",
        json={"actionType": "create_promotion", "payload": payload},
        headers={"Authorization": f"Bearer {maker.token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def test_a_makers_page_shows_a_decision_live(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    action_id = submit_promotion(server.url, maker, "LIVE-NOTICE")
    mine = log_in(new_context(), server.url, maker, "/my-requests")
    errors: list[str] = []
    mine.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect(mine.locator(f"#my-request-{action_id} .badge")).to_have_text("pending")
    expect(mine.locator("#notice-count")).to_be_hidden()
    mine.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    queue = log_in(new_context(), server.url, checker, "/queue")
    queue.locator(f"#action-row-{action_id}").get_by_role("button", name="Approve").click()
    expect(queue.locator("#decisions")).to_contain_text("Action approved")

    toast = mine.locator(f".toast[data-action-id='{action_id}']")
    expect(toast).to_contain_text(f"approved by {checker.username}")
    expect(mine.locator("#notice-count")).to_be_visible()
    expect(mine.locator("#notice-count .count")).to_have_text("1")
    expect(mine.locator(f"#my-request-{action_id} .badge")).to_have_text("approved")  # the list too
    assert mine.evaluate("window.sameDocument") is True
    screenshot(mine, "my-requests-notice")

    toast.get_by_role("button", name="Dismiss this notice").click()
    expect(toast).to_have_count(0)
    mine.get_by_role("link", name="My requests").click()  # looking at them clears the count
    expect(mine.locator("#notice-count")).to_be_hidden()
    assert [e for e in errors if "'style-src 'self''" not in e] == []


def test_the_header_count_shows_on_any_page(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    action_id = submit_promotion(server.url, maker, "ANY-PAGE")
    page = log_in(new_context(), server.url, maker, "/history")
    expect(page.locator("[data-notices]")).to_have_count(1)
    # the listener asked once on load; wait for that answer so the decision below is news to it
    expect(page.locator("#notices-since")).not_to_have_value("")

    response = httpx.post(
        f"{server.url}/api/workflow/actions/{action_id}/review",
        json={"status": "rejected", "reviewComment": "Too generous"},
        headers={"Authorization": f"Bearer {checker.token}"},
    )
    assert response.status_code == 200

    expect(page.locator(f".toast[data-action-id='{action_id}']")).to_contain_text("Too generous")
    expect(page.locator("#notice-count .count")).to_have_text("1")
    page.get_by_role("link", name="History").click()  # another page keeps the count (from the server)
    expect(page.locator("#notice-count .count")).to_have_text("1")


def test_withdraw_from_my_requests_leaves_the_checkers_queue_live(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    action_id = submit_promotion(server.url, maker, "WITHDRAW-ME")
    queue = log_in(new_context(), server.url, checker, "/queue")
    expect(queue.locator(f"#action-row-{action_id}")).to_be_visible()
    expect(queue.locator("#queue-status")).to_have_text("1 pending")

    mine = log_in(new_context(), server.url, maker, "/my-requests")
    mine.locator(f"#my-request-{action_id}").get_by_role("button", name="Withdraw…").click()
    expect(mine.get_by_role("heading", name="Withdraw this request?")).to_be_visible()
    expect(queue.locator(f"#action-row-{action_id}")).to_be_visible()  # nothing happens before confirming
    screenshot(mine, "withdraw-confirmation")
    mine.get_by_role("button", name="Withdraw request").click()

    expect(mine.locator("#withdrawn-note")).to_contain_text("Request withdrawn")
    expect(mine.locator(f"#my-request-{action_id} .badge")).to_have_text("cancelled")
    expect(mine.locator(f"#my-request-{action_id}").get_by_role("button", name="Withdraw…")).to_have_count(0)
    assert "/my-requests" in mine.url
    # the checker's queue drops it without a reload
    expect(queue.locator(f"#action-row-{action_id}")).to_have_count(0)
    expect(queue.locator("#queue-status")).to_have_text("0 pending")
    expect(mine.locator(".toast")).to_have_count(0)  # one's own withdrawal is no news to oneself
    screenshot(mine, "my-requests")
