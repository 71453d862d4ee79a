"""Policies and N-of-M on the pages: k of N, needs N more and who approved in the queue and on the
detail page, who may still approve, the Policies page, and policy changes through the forms."""

import re

import pytest

from tests.factories import Actor, promotion_payload, review, set_policy, submit, user_payload
from tests.http.conftest import HX, csrf_headers, fetch, row_html

pytestmark = pytest.mark.anyio


async def _login_as(login, actor: Actor) -> None:
    assert (await login(actor.user.username)).status_code == 303


async def _form_review(client, action_id: str, decision: str = "approved", comment: str = ""):
    return await client.post(
        f"/actions/{action_id}/review",
        data={"decision": decision, "comment": comment},
        headers=csrf_headers(client) | HX,
    )


async def test_queue_shows_k_of_n_who_approved_and_how_many_more(client, db, login, person):
    maker, first, second = await person("maker"), await person("checker"), await person("checker")
    await set_policy(db, "create_promotion", required_approvals=2)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await _login_as(login, first)
    row = row_html((await client.get("/queue")).text, action["id"])
    assert "0 of 2" in row and "needs 2 more" in row

    answer = await _form_review(client, action["id"])
    assert answer.status_code == 200
    assert "Approval recorded; more approvals are needed" in answer.text

    row = row_html((await client.get("/queue")).text, action["id"])
    assert "1 of 2" in row and "needs 1 more" in row
    assert f"approved by {first.user.username}" in row
    assert "You approved; waiting for others" in row
    assert 'value="approved"' not in row

    await _login_as(login, second)
    row = row_html((await client.get("/queue")).text, action["id"])
    assert re.search(r'<button type="submit" name="decision" value="approved"', row)
    assert "Action approved and executed" in (await _form_review(client, action["id"])).text


async def test_a_single_approval_row_reads_as_before(client, login, person):
    maker, checker = await person("maker"), await person("checker")
    action = await submit(client, maker, "create_user", user_payload())
    await _login_as(login, checker)
    row = row_html((await client.get("/queue")).text, action["id"])
    assert "0 of 1" in row
    assert "needs" not in row and "approved by" not in row


async def test_detail_page_says_who_may_still_approve(client, db, login, person):
    maker = await person("maker", "checker")
    first, second = await person("checker"), await person("checker")
    await person("admin")
    await set_policy(db, "create_promotion", required_approvals=2)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await review(client, first, action["id"])
    await _login_as(login, maker)

    html = (await client.get(f"/actions/{action['id']}")).text

    approvals = re.search(r'<dd id="approvals">(.*?)</dd>', html, re.S).group(1)
    assert "1 of 2" in approvals and "needs 1 more" in approvals
    assert f"approved by {first.user.username}" in approvals
    may = re.search(r'<dd id="may-approve">(.*?)</dd>', html, re.S).group(1)
    assert second.user.username in may
    assert first.user.username not in may and maker.user.username not in may
    assert 'href="/policies#policy-create_promotion">version 1</a>' in html


async def test_detail_page_warns_when_nobody_can_approve(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    action = await submit(client, maker, "create_user", user_payload())
    await fetch(db, "UPDATE users SET is_active = false WHERE id = :id RETURNING id", id=checker.user.id)
    await _login_as(login, maker)
    may = re.search(
        r'<dd id="may-approve">(.*?)</dd>', (await client.get(f"/actions/{action['id']}")).text, re.S
    )
    assert "Nobody: no active checker is left" in may.group(1)


async def test_policies_page_lists_policies_history_and_pending_changes(client, db, login, person):
    admin, other_admin = await person("admin"), await person("admin")
    await person("checker"), await person("checker"), await person("checker")
    await set_policy(db, "create_account", required_approvals=2, ttl_hours=24)
    change = await submit(
        client,
        admin,
        "update_policy",
        {"targetType": "create_account", "baseVersion": 1, "enabled": True}
        | {"requiredApprovals": 3, "ttlHours": 24, "reviewerRole": "checker"},
    )
    await _login_as(login, other_admin)

    html = (await client.get("/policies")).text

    account = re.search(r'<article id="policy-create_account".*?</article>', html, re.S).group(0)
    assert "version 1" in account
    assert "2 approvals by checker, 24 h to live" in account
    assert "1 approval by checker, 72 h to live" in account  # version 0 in the history
    assert f'href="/actions/{change["id"]}"' in account
    assert "Policy of Open account: 3 approvals by checker, 24 h to live" in account
    assert "/actions/new?actionType=update_policy&amp;targetType=create_account" in account
    assert re.search(r'<article id="policy-update_policy".*?reviewer role</dt><dd>admin', html, re.S | re.I)


async def test_policies_page_offers_changes_to_admins_only(client, login, person):
    await _login_as(login, await person("checker"))
    html = (await client.get("/policies")).text
    assert 'id="policy-create_user"' in html
    assert "Propose a change" not in html


async def test_an_admin_proposes_a_change_in_the_prefilled_form(client, db, login, person):
    admin = await person("admin")
    await person("checker"), await person("checker")
    await set_policy(db, "create_user", ttl_hours=48)
    await _login_as(login, admin)

    form = (await client.get("/actions/new?actionType=update_policy&targetType=create_user")).text

    # only the types an admin may request are offered; the form starts from the policy in force
    assert re.findall(r'<option value="(\w+)" selected>', form)[0] == "update_policy"
    assert 'value="create_promotion"' not in re.search(r'id="actionType".*?</select>', form, re.S).group(0)
    assert re.search(r'name="ttlHours" type="number" value="48"', form)
    assert 'name="baseVersion" value="1"' in form
    assert re.search(r'<option value="1" selected>1</option>', form)

    data = {
        "actionType": "update_policy",
        "targetType": "create_user",
        "baseVersion": "1",
        "enabled": "true",
        "requiredApprovals": "2",
        "ttlHours": "48",
        "reviewerRole": "checker",
    }
    answer = await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)
    assert answer.status_code == 200, answer.text
    assert "Request submitted" in answer.text
    rows = await fetch(db, "SELECT payload FROM workflow_actions WHERE action_type = 'update_policy'")
    assert rows[0][0]["requiredApprovals"] == 2


async def test_a_change_no_quorum_can_meet_is_shown_inline(client, login, person):
    admin = await person("admin")
    await person("checker")
    await _login_as(login, admin)
    data = {
        "actionType": "update_policy",
        "targetType": "create_user",
        "baseVersion": "0",
        "enabled": "true",
        "requiredApprovals": "3",
        "ttlHours": "72",
        "reviewerRole": "checker",
    }
    answer = await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)
    assert answer.status_code == 422
    assert re.search(
        r'id="error-requiredApprovals" class="error">3 approvals by checker could never', answer.text
    )


async def test_a_maker_is_not_offered_policy_changes(client, login, person):
    await _login_as(login, await person("maker"))
    form = (await client.get("/actions/new?actionType=update_policy")).text
    assert 'value="update_policy"' not in form
    assert 'data-action-type="create_user"' in form


async def test_an_admin_without_the_checker_role_approves_a_policy_change(client, db, login, person):
    first, second = await person("admin"), await person("admin")
    await person("checker")
    change = await submit(
        client,
        first,
        "update_policy",
        {"targetType": "create_user", "baseVersion": 0, "enabled": False}
        | {"requiredApprovals": 1, "ttlHours": 72, "reviewerRole": "checker"},
    )
    await _login_as(login, second)
    row = row_html((await client.get("/queue")).text, change["id"])
    assert re.search(r'value="approved"', row)
    answer = await _form_review(client, change["id"])
    assert "Action approved and executed" in answer.text
    versions = await fetch(
        db, "SELECT version, enabled FROM action_policies WHERE action_type = 'create_user'"
    )
    assert [tuple(row) for row in versions] == [(1, False)]


async def test_a_disabled_type_is_refused_inline(client, db, login, person):
    maker = await person("maker")
    await set_policy(db, "create_user", enabled=False)
    await _login_as(login, maker)
    data = {"actionType": "create_user"} | user_payload()
    data.pop("roles", None)
    data["roles"] = "maker"
    answer = await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)
    assert answer.status_code == 409
    assert "Create user is disabled by its policy" in answer.text


async def test_the_request_form_says_what_the_policy_asks(client, db, login, person):
    maker = await person("maker")
    await person("checker"), await person("checker")
    await set_policy(db, "create_promotion", required_approvals=2, ttl_hours=24)
    await set_policy(db, "create_account", enabled=False)
    await _login_as(login, maker)

    form = (await client.get("/actions/new?actionType=create_promotion")).text
    note = re.search(r'id="policy-note">(.*?)</p>', form, re.S).group(1)
    assert "Needs 2 approvals" in note and "by checkers, within 24 h" in note
    assert "policy version 1" in note
    disabled = (await client.get("/actions/new?actionType=create_account")).text
    assert "Open account is disabled by its policy" in disabled

    data = {"actionType": "create_promotion"} | promotion_payload()
    data.pop("description", None)
    answer = await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)
    assert answer.status_code == 200, answer.text
    assert "It now waits for 2 approvals by checkers." in answer.text
