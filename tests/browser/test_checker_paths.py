"""A checker in Chromium: from the queue to a request and back, deciding on either page, queue texts."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def _submit(server, maker, action_type: str, payload: dict) -> str:
    response = httpx.post(
        server.url + "/api/workflow/actions",
        json={"actionType": action_type, "payload": payload},
        headers={"Authorization": f"Bearer {maker.token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def _new_user(name: str) -> dict:
    return {"username": name, "fullName": name.title(), "email": f"{name}@example.com"}


def _decide(server, checker, action_id: str, status: str = "approved") -> None:
    response = httpx.post(
        f"{server.url}/api/workflow/actions/{action_id}/review",
        json={"status": status, "reviewComment": "decided elsewhere"},
        headers={"Authorization": f"Bearer {checker.token}"},
    )
    assert response.status_code == 200, response.text


def test_a_queue_link_opens_the_whole_detail_page_and_back_returns(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    action_id = _submit(server, maker, "create_user", _new_user("nav.one"))
    queue = log_in(new_context(), server.url, checker, "/queue")

    queue.locator(f"#action-row-{action_id}").get_by_role("link").first.click()

    queue.wait_for_url(f"{server.url}/actions/{action_id}")
    expect(queue.locator("h1")).to_have_count(1)
    expect(queue.locator("header")).to_have_count(1)
    expect(queue.get_by_role("heading", name="Audit timeline")).to_be_visible()
    queue.go_back()
    queue.wait_for_url(f"{server.url}/queue")
    expect(queue.locator("h1")).to_have_text("Pending queue")
    expect(queue.locator(f"#action-row-{action_id}")).to_be_visible()


def test_deciding_on_the_detail_page_shows_the_outcome_there(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    rejected_id = _submit(server, maker, "create_user", _new_user("detail.one"))
    page = log_in(new_context(), server.url, checker, f"/actions/{rejected_id}")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.get_by_role("button", name="Reject").click()
    expect(page.locator(f"#decision-{rejected_id} [role=alert]")).to_contain_text("A comment is required")
    page.locator(f"#comment-{rejected_id}").fill("not today")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(f"#decision-{rejected_id}")).to_contain_text("Action rejected")
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)

    approved_id = _submit(server, maker, "create_user", _new_user("detail.two"))
    page.goto(f"{server.url}/actions/{approved_id}")
    _decide(server, people("checker"), approved_id)  # someone else, while this page is open
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#decision-{approved_id}")).to_contain_text("not pending any more")
    assert [e for e in errors if "targetError" in e] == []
    screenshot(page, "detail-decision-conflict")


def test_a_row_decided_elsewhere_stays_with_a_note_while_the_checker_types(server, people, new_context):
    maker, checker, other = people("maker"), people("checker"), people("checker")
    held_id = _submit(server, maker, "create_user", _new_user("held.one"))
    gone_id = _submit(server, maker, "create_user", _new_user("gone.one"))
    queue = log_in(new_context(), server.url, checker, "/queue")
    queue.locator(f"#comment-{held_id}").fill("I was about to say")

    _decide(server, other, gone_id)
    _decide(server, other, held_id)

    expect(queue.locator(f"#action-row-{gone_id}")).to_have_count(0)
    expect(queue.locator(f"#action-row-{held_id}")).to_contain_text(f"Approved by {other.username}")
    screenshot(queue, "queue-decided-elsewhere")
    newer_id = _submit(server, maker, "create_user", _new_user("newer.one"))  # another refresh
    expect(queue.locator(f"#action-row-{newer_id}")).to_be_visible()
    expect(queue.locator(f"#action-row-{held_id}")).to_contain_text(f"Approved by {other.username}")
    queue.locator(f"#action-row-{held_id}").get_by_role("button", name="Dismiss").click()
    expect(queue.locator(f"#action-row-{held_id}")).to_have_count(0)


def test_decision_notes_keep_only_the_last_few(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    ids = [_submit(server, maker, "create_user", _new_user(f"note.{n}")) for n in range(7)]
    queue = log_in(new_context(), server.url, checker, "/queue")
    for n, action_id in enumerate(ids):
        queue.locator(f"#action-row-{action_id}").get_by_role("button", name="Approve").click()
        expect(queue.locator("#decisions .decision-note").first).to_contain_text(f"note.{n} ")
    expect(queue.locator("#decisions .decision-note").first).to_contain_text("note.6")
    expect(queue.locator("#decisions .decision-note")).to_have_count(5)


def test_history_fits_a_phone_screen(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    _submit(server, maker, "create_user", _new_user("phone.one"))
    page = log_in(new_context(width=390, height=844), server.url, checker, "/history")
    expect(page.locator("#history-table tbody tr")).to_have_count(1)
    overflow = page.evaluate(
        "() => { const t = document.querySelector('#history-table'); return t.scrollWidth - t.clientWidth; }"
    )
    assert overflow <= 0
    expect(page.locator("#history-table td[data-label=Created]")).to_be_in_viewport()
    screenshot(page, "history-phone")


def test_ages_and_times_follow_the_viewers_clock(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    action_id = _submit(server, maker, "create_user", _new_user("age.one"))
    context = new_context()
    context.clock.install()
    queue = log_in(context, server.url, checker, "/queue")
    age = queue.locator(f"#action-row-{action_id} time")
    expect(age).to_have_text("just now")
    queue.clock.fast_forward("10:00")
    expect(age).to_have_text("10 min ago")
