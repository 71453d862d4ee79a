"""Send back and resubmit, and expiry, on the pages: the Send back button, the maker's Edit and
resubmit page filled with the current payload, versions and what changed on the detail page, and
a review of an expired action."""

import re

import pytest

from tests.factories import Actor, promotion_payload, review, submit, user_payload
from tests.http.conftest import HX, csrf_from_page, csrf_headers, execute, row_html

pytestmark = pytest.mark.anyio


async def _login_as(login, actor: Actor) -> None:
    assert (await login(actor.user.username)).status_code == 303


async def _form_review(client, action_id: str, decision: str, comment: str = ""):
    return await client.post(
        f"/actions/{action_id}/review",
        data={"decision": decision, "comment": comment},
        headers=csrf_headers(client) | HX | {"HX-Target": f"decision-{action_id}"},
    )


async def test_checker_sends_back_from_the_queue_with_a_required_comment(client, login, person):
    maker, checker = await person("maker"), await person("checker")
    action = await submit(client, maker, "create_user", user_payload())
    await _login_as(login, checker)
    row = row_html((await client.get("/queue")).text, action["id"])
    assert 'value="changes_requested"' in row and "Send back" in row

    refused = await _form_review(client, action["id"], "changes_requested")
    assert refused.status_code == 422
    assert "Say what the maker should change" in refused.text

    answer = await _form_review(client, action["id"], "changes_requested", "Spell the name in full")
    assert answer.status_code == 200
    assert "sent back to its maker" in answer.text
    assert row_html((await client.get("/queue")).text, action["id"]) == ""


async def test_maker_edits_the_current_payload_and_resubmits(client, login, person):
    maker, checker = await person("maker"), await person("checker")
    payload = promotion_payload(discountValue="40.00", startDate="2027-03-01", endDate="2027-03-31")
    action = await submit(client, maker, "create_promotion", payload)
    await review(client, checker, action["id"], "changes_requested", "Forty is too much")
    await _login_as(login, maker)

    detail = (await client.get(f"/actions/{action['id']}")).text
    assert "Forty is too much" in detail
    assert f'href="/actions/{action["id"]}/edit"' in detail

    edit = await client.get(f"/actions/{action['id']}/edit")
    assert edit.status_code == 200
    # the type's own form, filled with what was submitted (a date field takes the day)
    assert f'value="{payload["code"]}"' in edit.text
    assert 'value="40.00"' in edit.text
    assert 'value="2027-03-01"' in edit.text
    assert re.search(r'<option value="percentage"\s+selected', edit.text)
    assert "Forty is too much" in edit.text

    form = {
        "_csrf_token": csrf_from_page(edit.text),
        "code": payload["code"],
        "name": payload["name"],
        "discountType": "percentage",
        "discountValue": "-1",
        "startDate": "2027-03-01",
        "endDate": "2027-03-31",
    }
    refused = await client.post(f"/actions/{action['id']}/resubmit", data=form)
    assert refused.status_code == 422
    assert "Must not be negative" in refused.text
    assert 'value="-1"' in refused.text

    form["discountValue"] = "15"
    done = await client.post(f"/actions/{action['id']}/resubmit", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = (await client.get(done.headers["location"])).text
    assert "Resubmitted for review as version 2" in page
    versions = re.search(r'<article id="versions">(.*?)</article>', page, re.S).group(1)
    assert "Version 2</strong> (current)" in versions and "Version 1" in versions
    change = re.search(r"<tr><th scope=\"row\">Discount value</th>(.*?)</tr>", versions, re.S).group(1)
    assert "<del>40.00</del>" in change and "<ins>15.00</ins>" in change
    assert "Start date" not in versions  # unchanged fields are not listed


async def test_only_the_maker_may_open_the_edit_page_and_only_when_sent_back(client, login, person):
    maker, other, checker = await person("maker"), await person("maker"), await person("checker")
    action = await submit(client, maker, "create_user", user_payload())
    await _login_as(login, maker)
    assert (await client.get(f"/actions/{action['id']}/edit")).status_code == 409
    await review(client, checker, action["id"], "changes_requested", "Check the email")
    await _login_as(login, other)
    assert (await client.get(f"/actions/{action['id']}/edit")).status_code == 403
    detail = (await client.get(f"/actions/{action['id']}")).text
    assert "/edit" not in detail


async def test_review_of_an_expired_action_on_the_page_says_so(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    action = await submit(client, maker, "create_user", user_payload())
    await execute(
        db,
        "UPDATE workflow_actions SET expires_at = now() - interval '1 second' WHERE id = :id",
        id=action["id"],
    )
    await _login_as(login, checker)
    await client.get("/queue")
    answer = await _form_review(client, action["id"], "approved")
    assert answer.status_code == 409
    assert "expired" in answer.text
    detail = (await client.get(f"/actions/{action['id']}")).text
    assert "status-expired" in detail
