"""Policies and N-of-M in Chromium: admins change a policy under dual control from the Policies
page; two checkers complete a quorum of two, each seeing k of N, who approved and who may still."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import axe_violations

pytestmark = pytest.mark.browser


def _post(server, person, path: str, body: dict) -> dict:
    response = httpx.post(server.url + path, json=body, headers={"Authorization": f"Bearer {person.token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def _submit(server, person, action_type: str, payload: dict) -> str:
    return _post(server, person, "/api/workflow/actions", {"actionType": action_type, "payload": payload})[
        "id"
    ]


def test_admins_change_a_policy_under_dual_control(server, people, new_context):
    first, second = people("admin"), people("admin")
    for _ in range(3):
        people("checker")
    page = log_in(new_context(), server.url, first, "/policies")
    promotion = page.locator("#policy-create_promotion")
    expect(promotion).to_contain_text("version 0 (the defaults)")
    assert axe_violations(page) == []

    promotion.get_by_role("button", name="Propose a change").click()
    page.wait_for_url("**/actions/new?actionType=update_policy&targetType=create_promotion")
    expect(page.get_by_label("Policy of")).to_have_value("create_promotion")
    expect(page.get_by_label("Time to live (hours)")).to_have_value("72")
    # picking another type reloads the form with that type's policy
    page.get_by_label("Policy of").select_option("create_user")
    expect(page.locator("#policy-in-force")).to_contain_text("In force for Create user: version 0")
    # the new form must be settled (htmx wires its select up then) before it is changed again
    expect(page.locator("#request-form")).not_to_have_class(re.compile(r"htmx-(request|swapping|settling)"))
    expect(page.locator(".htmx-settling, .htmx-swapping, .htmx-request")).to_have_count(0)
    page.get_by_label("Policy of").select_option("create_promotion")
    expect(page.locator("#policy-in-force")).to_contain_text("In force for Create promotion: version 0")
    page.get_by_label("Approvals required").select_option("2")
    page.get_by_label("Time to live (hours)").fill("48")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#submitted-link")).to_be_visible()

    page.goto(server.url + "/policies")
    change = page.locator("#policy-create_promotion .pending-changes a")
    expect(change).to_contain_text("Policy of Create promotion: 2 approvals by checker, 48 h to live")

    other = log_in(new_context(), server.url, second, "/policies")
    other.locator("#policy-create_promotion .pending-changes a").click()
    expect(other.locator("#may-approve")).to_contain_text(second.username)
    other.get_by_role("button", name="Approve").click()
    expect(other.locator("[id^=decision-]")).to_contain_text("Action approved and executed")

    other.goto(server.url + "/policies")
    promotion = other.locator("#policy-create_promotion")
    expect(promotion).to_contain_text("version 1")
    expect(promotion.locator(".pending-changes")).to_have_count(0)
    promotion.get_by_text("History (2 versions)").click()
    expect(promotion.locator("table.history tbody tr").first).to_contain_text(first.username)
    expect(promotion.locator("table.history tbody tr").first).to_contain_text(second.username)
    assert axe_violations(other) == []
    screenshot(other, "policies")


def test_two_checkers_complete_a_quorum_of_two(server, people, new_context):
    first_admin, second_admin = people("admin"), people("admin")
    maker, first, second, third = people("maker"), people("checker"), people("checker"), people("checker")
    change = {"targetType": "create_user", "baseVersion": 0, "enabled": True, "requiredApprovals": 2}
    change_id = _submit(
        server, first_admin, "update_policy", change | {"ttlHours": 72, "reviewerRole": "checker"}
    )
    _post(server, second_admin, f"/api/workflow/actions/{change_id}/review", {"status": "approved"})
    action_id = _submit(
        server,
        maker,
        "create_user",
        {"username": "quorum.one", "fullName": "Q One", "email": "q1@example.com"},
    )

    one = log_in(new_context(), server.url, first, "/queue")
    two = log_in(new_context(), server.url, second, "/queue")
    row = one.locator(f"#action-row-{action_id}")
    expect(row).to_contain_text("0 of 2")
    expect(row).to_contain_text("needs 2 more")

    row.get_by_role("button", name="Approve").click()
    expect(one.locator("#decisions")).to_contain_text("Approval recorded; more approvals are needed")

    # the other checker's queue updates live: one approval, by whom, one more needed
    other_row = two.locator(f"#action-row-{action_id}")
    expect(other_row).to_contain_text("1 of 2")
    expect(other_row).to_contain_text("needs 1 more")
    expect(other_row).to_contain_text(f"approved by {first.username}")
    assert axe_violations(two) == []
    screenshot(two, "queue-quorum")

    two.goto(f"{server.url}/actions/{action_id}")
    expect(two.locator("#approvals")).to_contain_text("1 of 2")
    expect(two.locator("#may-approve")).to_contain_text(second.username)
    expect(two.locator("#may-approve")).to_contain_text(third.username)
    expect(two.locator("#may-approve")).not_to_contain_text(first.username)
    two.get_by_role("button", name="Approve").click()
    expect(two.locator(f"#decision-{action_id}")).to_contain_text("Action approved and executed")
    two.reload()
    expect(two.locator("#approvals")).to_contain_text("2 of 2")
    expect(two.locator("#approvals")).to_contain_text(f"approved by {first.username}, {second.username}")


def test_a_disabled_type_says_so_on_its_form_and_refuses_the_request(server, people, new_context):
    first_admin, second_admin, maker = people("admin"), people("admin"), people("maker")
    people("checker")
    change = {"targetType": "create_promotion", "baseVersion": 0, "enabled": False, "requiredApprovals": 1}
    change_id = _submit(
        server, first_admin, "update_policy", change | {"ttlHours": 72, "reviewerRole": "checker"}
    )
    _post(server, second_admin, f"/api/workflow/actions/{change_id}/review", {"status": "approved"})

    page = log_in(new_context(), server.url, maker, "/actions/new?actionType=create_promotion")
    expect(page.locator("#policy-note")).to_contain_text("Create promotion is disabled by its policy")
    page.get_by_label("Code", exact=True).fill("OFF-1")
    page.get_by_label("Name", exact=True).fill("Off sale")
    page.get_by_label("Discount type").select_option("percentage")
    page.get_by_label("Discount value").fill("10")
    page.get_by_label("Start date").fill("2027-01-01")
    page.get_by_label("End date", exact=True).fill("2027-01-31")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("#form-error")).to_contain_text("no new requests of this type are taken")
    expect(page.get_by_label("Code", exact=True)).to_have_value("OFF-1")
    assert axe_violations(page) == []
