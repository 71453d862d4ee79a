"""The queue as a back office works it, in Chromium: the keyboard path through it (j, k, o, Enter, a,
r) with a row arriving live, the dense view's 20 rows on a 1280x800 screen, and search and sort."""

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.db import Database, run_blocking
from tests.backoffice_rows import insert, row
from tests.browser.conftest import WAIT_MS, Person, log_in, screenshot
from tests.factories import promotion_payload

pytestmark = pytest.mark.browser


def submit_promotion(base_url: str, maker: Person, code: str) -> str:
    body = {"actionType": "create_promotion", "payload": promotion_payload(code=code, name=f"Promo {code}")}
    response = httpx.post(
        f"{base_url}/api/workflow/actions", json=body, headers={"Authorization": f"Bearer {maker.token}"}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def put_rows(database_url: str, rows: list[dict[str, Any]]) -> list[str]:
    async def work() -> list[str]:
        db = Database.connect(database_url, pool_size=1)
        try:
            return await insert(db, rows)
        finally:
            await db.dispose()

    return run_blocking(work)


def row_of(page: Page, action_id: str) -> Any:
    return page.locator(f"#action-row-{action_id}")


def expect_selected(page: Page, action_id: str) -> None:
    selected = row_of(page, action_id)
    expect(selected).to_have_attribute("aria-current", "true")
    expect(selected).to_be_focused()
    expect(page.locator("#queue-rows tr[aria-current=true]")).to_have_count(1)


def test_the_keyboard_path_through_the_queue(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    first, second, third = (submit_promotion(server.url, maker, f"KEYS-{n}") for n in (1, 2, 3))
    queue = log_in(new_context(), server.url, checker, "/queue")
    errors: list[str] = []
    queue.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect(queue.locator("#queue-shortcuts")).to_contain_text("Keyboard shortcuts")

    queue.keyboard.press("j")
    expect_selected(queue, first)
    queue.keyboard.press("j")
    expect_selected(queue, second)
    queue.keyboard.press("k")
    expect_selected(queue, first)
    focus_ring = row_of(queue, first).evaluate("row => getComputedStyle(row).outlineStyle")
    assert focus_ring == "solid"  # the selected row shows where the keyboard is
    screenshot(queue, "queue-keyboard-selected")

    queue.keyboard.press("a")
    expect(queue.locator("#decisions")).to_contain_text("Action approved and executed")
    expect(row_of(queue, first)).to_have_count(0, timeout=WAIT_MS)
    # the selection stays at its place in the list: the next request is selected
    expect(row_of(queue, second)).to_have_attribute("aria-current", "true")

    queue.keyboard.press("r")
    comment = row_of(queue, second).get_by_role("textbox")
    expect(comment).to_be_focused()
    comment.press_sequentially("just not ok")  # j and k in a field are letters, not moves
    expect(comment).to_have_value("just not ok")
    expect(row_of(queue, second)).to_have_attribute("aria-current", "true")
    comment.press("Enter")  # Enter after r rejects (an ordinary Enter in the field would approve)
    expect(queue.locator("#decisions")).to_contain_text("rejected")
    expect(row_of(queue, second)).to_have_count(0, timeout=WAIT_MS)

    # a request arrives live, over the event stream; the keys reach it like any other
    arrived = submit_promotion(server.url, maker, "KEYS-LIVE")
    expect(row_of(queue, arrived)).to_be_visible(timeout=WAIT_MS)
    queue.keyboard.press("j")
    queue.keyboard.press("j")
    expect_selected(queue, arrived)
    queue.keyboard.press("o")
    queue.wait_for_url(f"{server.url}/actions/{arrived}")
    expect(queue.get_by_role("heading", name="Audit timeline")).to_be_visible()

    queue.go_back()
    queue.wait_for_url(f"{server.url}/queue")
    expect(row_of(queue, third)).to_be_visible(timeout=WAIT_MS)
    queue.keyboard.press("j")
    expect_selected(queue, third)
    queue.keyboard.press("Enter")
    queue.wait_for_url(f"{server.url}/actions/{third}")
    assert errors == []


def test_shortcuts_do_nothing_while_typing_in_the_search_box(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    submit_promotion(server.url, maker, "TYPE-1")
    queue = log_in(new_context(), server.url, checker, "/queue")

    queue.get_by_role("searchbox", name="Search").press_sequentially("jkao")

    expect(queue.get_by_role("searchbox", name="Search")).to_have_value("jkao")
    expect(queue.locator("#queue-rows tr[aria-current=true]")).to_have_count(0)
    assert queue.url.startswith(f"{server.url}/queue")


def test_the_dense_view_fits_twenty_rows_on_a_1280x800_screen(server, people, new_context, database_url):
    maker, checker = people("maker"), people("checker")
    maker_id = uuid.UUID(maker.user_id)
    put_rows(
        database_url,
        [
            row(
                maker_id,
                minute=i,
                summary=f"Promotion DENSE-{i:02d} (A rather long promotion name, to fill the line): 10%, "
                "2026-01-01 00:00 to 2026-12-31 00:00",
                required_approvals=1 + i % 2,  # "needs 1 more" must not take a second line
            )
            for i in range(24)
        ],
    )
    context = new_context(width=1280, height=800)
    queue = log_in(context, server.url, checker, "/queue")
    expect(queue.locator("#queue-rows tbody tr")).to_have_count(24)

    def bottom_of_twentieth() -> float:
        return (
            queue.locator("#queue-rows tbody tr")
            .nth(19)
            .evaluate("row => row.getBoundingClientRect().bottom")
        )

    assert bottom_of_twentieth() > 800  # the usual view does not fit them: the measure can fail

    queue.get_by_label("Dense").check()
    expect(queue.locator("#queue-rows")).to_have_class(re.compile(r"\bdense\b"))
    queue.wait_for_url(re.compile(r".*dense=1.*"))
    queue.evaluate("window.scrollTo(0, 0)")
    screenshot(queue, "queue-dense")
    assert bottom_of_twentieth() <= queue.evaluate("window.innerHeight") == 800
    assert queue.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing spills sideways

    queue.reload()  # remembered in the URL
    expect(queue.locator("#queue-rows")).to_have_class(re.compile(r"\bdense\b"))
    expect(queue.get_by_label("Dense")).to_be_checked()
    assert bottom_of_twentieth() <= 800


def test_search_and_sort_in_the_queue(server, people, new_context, database_url):
    maker, checker = people("maker"), people("checker")
    maker_id = uuid.UUID(maker.user_id)
    small, large, plain, middle = put_rows(
        database_url,
        [
            row(
                maker_id,
                minute=1,
                action_type="transfer_funds",
                amount="5.00",
                summary="Transfer of 5.00 to ACC-1",
            ),
            row(
                maker_id,
                minute=2,
                action_type="transfer_funds",
                amount="9000.00",
                summary="Transfer of 9000.00 to ACC-2",
            ),
            row(maker_id, minute=3, summary="Promotion HARBOUR-1"),
            row(
                maker_id,
                minute=4,
                action_type="transfer_funds",
                amount="300.00",
                summary="Transfer of 300.00 to ACC-3",
            ),
        ],
    )
    queue = log_in(new_context(), server.url, checker, "/queue")

    def order() -> list[str]:
        ids = queue.locator("#queue-rows tbody tr").evaluate_all("rows => rows.map(r => r.dataset.actionId)")
        return list(ids)

    expect(queue.locator("#queue-rows tbody tr")).to_have_count(4)
    assert order() == [small, large, plain, middle]

    queue.get_by_label("Sort").select_option("amount")
    expect(queue.locator("#queue-rows tbody tr").first).to_have_attribute("data-action-id", large)
    assert order() == [large, middle, small, plain]
    queue.wait_for_url(re.compile(r".*sort=amount.*"))

    queue.get_by_role("searchbox", name="Search").fill("harbour")
    expect(queue.locator("#queue-rows tbody tr")).to_have_count(1)
    expect(queue.locator("#queue-status")).to_have_text("1 pending matching")
    assert order() == [plain]
    screenshot(queue, "queue-search")

    queue.get_by_role("searchbox", name="Search").fill("")
    expect(queue.locator("#queue-rows tbody tr")).to_have_count(4)
    assert order() == [large, middle, small, plain]  # the sort stays while searching changes
