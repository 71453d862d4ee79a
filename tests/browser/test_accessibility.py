"""axe-core over every page and state a person meets, plus what axe cannot see: non-text contrast.

axe (tests/browser/vendor) is evaluated through the DevTools protocol, which the page's
Content-Security-Policy does not govern, so the app serves nothing extra for the test.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.db import Database, run_blocking
from tests.browser.conftest import Person, log_in
from tests.factories import issue_activation, make_actor
from tests.servers import AppServer

pytestmark = pytest.mark.browser

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()


def axe_violations(page: Page) -> list[str]:
    """axe's violations on the page as it is now, one line per rule and element."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {json.dumps(node['target'])}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


@pytest.fixture
def audit() -> Iterator[Callable[[Page, str], None]]:
    """audit(page, state) records the page's violations; the test fails at the end if any were found,
    so that one state's failure does not hide another's."""
    found: dict[str, list[str]] = {}

    def check(page: Page, state: str) -> None:
        violations = axe_violations(page)
        if violations:
            found[state] = violations

    yield check
    if found:
        pytest.fail(
            "axe found violations:\n"
            + "\n".join(f"[{state}] {line}" for state, lines in found.items() for line in lines)
        )


def _post_json(server: AppServer, person: Person, path: str, body: dict) -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers={"Authorization": f"Bearer {person.token}"})


def _submit_user(server: AppServer, maker: Person, username: str) -> str:
    body = {
        "actionType": "create_user",
        "payload": {"email": f"{username}@example.com", "username": username, "fullName": username.title()},
    }
    response = _post_json(server, maker, "/api/workflow/actions", body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def _activation_token(database_url: str, username: str) -> str:
    async def work() -> str:
        db = Database.connect(database_url, pool_size=1)
        try:
            actor = await make_actor(db, "maker", username=username)  # no password: not yet activated
            return await issue_activation(db, actor.user)
        finally:
            await db.dispose()

    return run_blocking(work)


def test_login_and_activation_pages_have_no_violations(server, database_url, people, new_context, audit):
    maker = people("maker")
    page = new_context().new_page()
    page.goto(server.url + "/login")
    audit(page, "login")
    page.get_by_label("Username").fill(maker.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_be_visible()
    audit(page, "login with an error")

    token = _activation_token(database_url, "to.activate")
    page.goto(f"{server.url}/activate/{token}")
    audit(page, "activation")
    page.get_by_label("New password").fill("a long enough password")
    page.get_by_label("Repeat the password").fill("a different password")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#confirm-error")).to_be_visible()
    audit(page, "activation with an error")


def _fill_valid(page: Page, action_type: str, owner_id: str) -> None:
    if action_type == "create_user":
        page.get_by_label("Username").fill("axe.user")
        page.get_by_label("Full name").fill("Axe User")
        page.get_by_label("Email").fill("axe.user@example.com")
    elif action_type == "create_account":
        page.get_by_label("Account holder").select_option(owner_id)
        page.get_by_label("Account number").fill("NL91ABNA0417164300")
        page.get_by_label("Account type").select_option("savings")
        page.get_by_label("Opening balance").fill("100")
        page.get_by_label("Currency").fill("EUR")
    else:
        page.get_by_label("Code", exact=True).fill("AXE-1")
        page.get_by_label("Name", exact=True).fill("Axe sale")
        page.get_by_label("Discount type").select_option("percentage")
        page.get_by_label("Discount value").fill("10")
        page.get_by_label("Start date").fill("2027-01-01")
        page.get_by_label("End date", exact=True).fill("2027-01-31")


@pytest.mark.parametrize("width", [1280, 390])
def test_new_request_forms_have_no_violations(server, people, new_context, audit, width):
    maker = people("maker")
    page = log_in(new_context(width=width), server.url, maker, "/actions/new")
    for action_type in ("create_user", "create_account", "create_promotion"):
        page.goto(f"{server.url}/actions/new?actionType={action_type}")
        audit(page, f"{action_type} empty")
        if action_type == "create_user":
            page.get_by_label("Maker").uncheck()
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator("#form-error")).to_be_visible()
        audit(page, f"{action_type} with errors")
        _fill_valid(page, action_type, maker.user_id)
        if action_type == "create_user":
            page.get_by_label("Maker").check()
        page.get_by_role("button", name="Submit for review").click()
        expect(page.locator("#submitted-link")).to_be_visible()
        audit(page, f"{action_type} confirmation")


def test_queue_detail_and_history_have_no_violations(server, people, new_context, audit):
    maker, checker, other_checker = people("maker"), people("checker"), people("checker")
    queue = log_in(new_context(), server.url, checker, "/queue")
    expect(queue.locator("#queue-status")).to_have_text("0 pending")
    audit(queue, "queue empty")

    first, second = _submit_user(server, maker, "axe.first"), _submit_user(server, maker, "axe.second")
    expect(queue.locator(f"#action-row-{second}")).to_be_visible()
    audit(queue, "queue with rows")

    queue.locator(f"#action-row-{first}").get_by_role("button", name="Reject").click()
    expect(queue.locator(f"#action-row-{first}")).to_contain_text("A comment is required to reject")
    audit(queue, "queue after a refused decision")

    queue.locator(f"#action-row-{first}").get_by_role("button", name="Approve").click()
    expect(queue.locator("#decisions")).to_contain_text("Action approved")
    audit(queue, "queue after a decision")

    queue.goto(f"{server.url}/actions/{second}")
    expect(queue.get_by_role("heading", name="Audit timeline")).to_be_visible()
    audit(queue, "action detail, pending")
    queue.goto(f"{server.url}/actions/{first}")
    audit(queue, "action detail, approved")

    queue.goto(server.url + "/history")
    expect(queue.locator("#history-count")).to_contain_text("2 actions")
    audit(queue, "history")
    queue.get_by_label("Status").select_option("approved")
    expect(queue.locator("#history-count")).to_have_text("1 action")
    audit(queue, "history filtered")

    _queue_with_a_conflict(server, other_checker, second, new_context(), audit)


def _queue_with_a_conflict(
    server: AppServer, checker: Person, action_id: str, context: BrowserContext, audit
) -> None:
    """A decision on a row that someone decided meanwhile: a 409 shown in the row.

    The page's event stream is cut so that the row stays on screen after the other decision,
    as it does when the event arrives just after the click."""
    context.route("**/queue/events", lambda route: route.abort())
    queue = log_in(context, server.url, checker, "/history")
    queue.goto(server.url + "/queue")
    row = queue.locator(f"#action-row-{action_id}")
    expect(row).to_be_visible()
    response = _post_json(
        server, checker, f"/api/workflow/actions/{action_id}/review", {"status": "approved"}
    )
    assert response.status_code == 200, response.text
    row.get_by_role("button", name="Approve").click()
    expect(queue.locator(f"#action-row-{action_id}")).to_contain_text("not pending any more")
    audit(queue, "queue after a 409")


# Contrast (WCAG 2.x relative luminance) of a control's boundary and of its focus indicator against
# the colours next to them; colours with alpha are laid over the page background first.
_CONTRASTS_JS = (Path(__file__).parent / "contrast.js").read_text()


def _contrasts(page: Page, selector: str) -> dict[str, float]:
    return page.evaluate(_CONTRASTS_JS, selector)


def test_field_borders_and_focus_rings_have_at_least_3_to_1_contrast(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    page.keyboard.press("Shift")  # a keyboard user: focus shows as it does after Tab
    measured: dict[str, dict[str, float]] = {}
    for selector in ("#field-username", "#field-roles-checker", "#actionType"):
        measured[selector] = _contrasts(page, selector)
    page.goto(server.url + "/actions/new?actionType=create_promotion")
    page.keyboard.press("Shift")
    for selector in ("#field-description", "#field-discountType", "#field-startDate"):
        measured[selector] = _contrasts(page, selector)
    for selector in ("#request-fields button[type=submit]", "nav a[href='/history']"):
        measured[selector] = {"ring": _contrasts(page, selector)["ring"]}
    too_low = {
        f"{selector} {part}": round(value, 2)
        for selector, parts in measured.items()
        for part, value in parts.items()
        if value < 3
    }
    assert too_low == {}, f"below 3:1: {too_low} (all: {measured})"


def test_my_requests_withdraw_and_notices_have_no_violations(server, people, new_context, audit):
    maker, checker = people("maker"), people("checker")
    kept, withdrawn = _submit_user(server, maker, "axe.kept"), _submit_user(server, maker, "axe.gone")
    page = log_in(new_context(), server.url, maker, "/my-requests")
    expect(page.locator(f"#my-request-{kept}")).to_be_visible()
    expect(page.locator("#notices-since")).not_to_have_value("")
    audit(page, "my requests")

    response = _post_json(server, checker, f"/api/workflow/actions/{kept}/review", {"status": "approved"})
    assert response.status_code == 200, response.text
    expect(page.locator(f".toast[data-action-id='{kept}']")).to_be_visible()
    audit(page, "my requests with a notice")

    page.locator(f"#my-request-{withdrawn}").get_by_role("button", name="Withdraw…").click()
    expect(page.get_by_role("heading", name="Withdraw this request?")).to_be_visible()
    audit(page, "withdraw confirmation")
    page.get_by_role("button", name="Withdraw request").click()
    expect(page.locator("#withdrawn-note")).to_be_visible()
    audit(page, "my requests after a withdrawal")
    page.goto(f"{server.url}/actions/{withdrawn}/withdraw")
    audit(page, "withdraw refused")
