"""Forms a keyboard or screen-reader user can follow: where focus goes, and messages under their fields."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_workflow_in_browser import submit_new_user

pytestmark = pytest.mark.browser

ACTIVE_ID = "() => document.activeElement && document.activeElement.id"


def _submit_promotion_with_errors(page: Page) -> None:
    page.get_by_label("Code", exact=True).fill("SPRING")
    page.get_by_label("Discount type").select_option("percentage")
    page.get_by_label("Discount value").fill("250")
    page.get_by_label("Start date").fill("2027-02-01")
    page.get_by_label("End date", exact=True).fill("2027-01-01")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#error-endDate")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 900, 390])
def test_each_hint_and_error_sits_under_its_own_input(server, people, new_context, width):
    maker = people("maker")
    page = log_in(new_context(width=width), server.url, maker, "/actions/new?actionType=create_promotion")
    _submit_promotion_with_errors(page)
    screenshot(page, f"new-request-errors-{width}")
    for field, message in (
        ("code", "#hint-code"),
        ("name", "#error-name"),
        ("discountValue", "#error-discountValue"),
        ("endDate", "#error-endDate"),
    ):
        control = page.locator(f"#field-{field}").bounding_box()
        below = page.locator(message).bounding_box()
        assert control and below, field
        assert below["y"] >= control["y"] + control["height"] - 1, f"{message} is not under #field-{field}"
        assert abs(below["x"] - control["x"]) <= 1, f"{message} is not aligned with #field-{field}"
        label = page.locator(f"label[for=field-{field}]").bounding_box()
        assert label and control["width"] >= label["width"] - 1, f"#field-{field} is narrower than its label"


def test_messages_use_plain_words(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    page.get_by_label("Username").fill("x")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#error-username")).to_have_text("Use at least 3 characters")
    expect(page.locator("#form-error")).not_to_contain_text("payload")


def test_unticking_every_role_asks_for_one_instead_of_ticking_maker(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    page.get_by_label("Maker").uncheck()
    submit_new_user(page, "no.roles", "No Roles", "no.roles@example.com")
    expect(page.locator("#error-roles")).to_have_text("Choose at least one role")
    for role in ("Maker", "Checker", "Admin"):
        expect(page.get_by_label(role)).not_to_be_checked()
    assert page.evaluate(ACTIVE_ID) == "field-roles-maker"


def test_errors_move_focus_to_the_first_invalid_field(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    page.get_by_label("Username").fill("good.name")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#error-fullName")).to_be_visible()
    expect(page.locator("#field-fullName")).to_be_focused()

    page.goto(server.url + "/actions/new?actionType=create_promotion")
    _submit_promotion_with_errors(page)
    expect(page.locator("#field-name")).to_be_focused()


def test_a_successful_submit_moves_focus_to_the_confirmation(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    submit_new_user(page, "focus.confirm", "Focus Confirm", "focus.confirm@example.com")
    heading = page.get_by_role("heading", name="Request submitted")
    expect(heading).to_be_focused()


def _submit_user_by_api(server, maker, name: str) -> str:
    body = {
        "actionType": "create_user",
        "payload": {"email": f"{name}@example.com", "username": name, "fullName": "Race"},
    }
    response = httpx.post(
        server.url + "/api/workflow/actions", json=body, headers={"Authorization": f"Bearer {maker.token}"}
    )
    assert response.status_code == 201
    return response.json()["data"]["id"]


def test_a_decision_moves_focus_to_its_outcome(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    queue = log_in(new_context(), server.url, checker, "/queue")
    first, second = (_submit_user_by_api(server, maker, name) for name in ("focus.one", "focus.two"))
    expect(queue.locator(f"#action-row-{second}")).to_be_visible()

    # refused: a rejection without a comment puts focus in the comment field, marked invalid
    queue.locator(f"#action-row-{first}").get_by_role("button", name="Reject").click()
    comment = queue.locator(f"#comment-{first}")
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_be_focused()

    # decided: focus on the outcome's note, which a screen reader then reads and which stays
    # when the decided row leaves the queue
    queue.locator(f"#action-row-{second}").get_by_role("button", name="Approve").click()
    outcome = queue.locator("#decisions .outcome").first
    expect(outcome).to_contain_text("approved")
    expect(outcome).to_be_focused()
    expect(queue.locator(f"#action-row-{second}")).to_have_count(0)
    expect(outcome).to_be_focused()


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(server, people, new_context):
    checker = people("checker")
    page = log_in(new_context(), server.url, checker, "/history")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="History")).to_have_attribute(
        "aria-current", "page"
    )


def test_a_refresh_arriving_while_a_decision_is_on_its_way_does_not_swallow_its_outcome(
    server, people, new_context
):
    maker, checker = people("maker"), people("checker")
    queue = log_in(new_context(), server.url, checker, "/queue")
    decided = _submit_user_by_api(server, maker, "race.one")
    expect(queue.locator(f"#action-row-{decided}")).to_be_visible()

    # hold the decision's answer until a refresh caused by another change has come back behind it
    held: list = []
    queue.route("**/actions/*/review", lambda route: held.append(route))
    with queue.expect_request("**/actions/*/review"):
        queue.locator(f"#action-row-{decided}").get_by_role("button", name="Approve").click()
    with queue.expect_response(lambda r: "/queue" in r.url and r.request.method == "GET"):
        other = _submit_user_by_api(server, maker, "race.two")
    assert len(held) == 1
    held[0].continue_()

    outcome = queue.locator("#decisions .outcome").first
    expect(outcome).to_contain_text("approved")
    expect(outcome).to_be_focused()
    expect(queue.locator(f"#action-row-{decided}")).to_have_count(0)
    expect(queue.locator(f"#action-row-{other}")).to_be_visible()
