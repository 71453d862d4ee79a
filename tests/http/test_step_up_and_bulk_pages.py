"""Step-up and bulk review on the pages: the decision forms show a password field when the action's
policy asks for it, a missing or wrong password comes back inline in the row (never echoed); the
queue's boxes lead to the pre-check page, whose confirmation decides each item and lists outcomes."""

import re

import pytest

from tests.factories import promotion_payload, review, set_policy, submit
from tests.http.conftest import HX, PASSWORD, csrf_from_page, csrf_headers, fetch, row_html

pytestmark = pytest.mark.anyio


async def _step_up_policy(db) -> None:
    await set_policy(db, "create_promotion", step_up=True)


async def _signed_in_checker(login, person):
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    return checker


async def _form_review(client, action_id: str, decision: str, *, target: str | None = None, **fields):
    headers = csrf_headers(client) | HX | {"HX-Target": target or f"action-row-{action_id}"}
    return await client.post(
        f"/actions/{action_id}/review", data={"decision": decision, "comment": "", **fields}, headers=headers
    )


async def test_the_queue_row_and_the_detail_panel_ask_for_the_password_only_under_step_up(
    client, db, login, person
):
    maker = await person("maker")
    plain = await submit(client, maker, "create_promotion", promotion_payload())
    await _step_up_policy(db)
    stepped = await submit(client, maker, "create_promotion", promotion_payload())
    await _signed_in_checker(login, person)

    queue = (await client.get("/queue")).text
    assert f'id="password-{stepped["id"]}"' in row_html(queue, stepped["id"])
    assert 'type="password"' not in row_html(queue, plain["id"])
    detail = (await client.get(f"/actions/{stepped['id']}")).text
    assert f'id="password-{stepped["id"]}"' in detail
    assert 'autocomplete="current-password"' in detail


async def test_a_missing_then_a_wrong_password_show_inline_in_the_row_and_the_right_one_approves(
    client, db, login, person
):
    maker = await person("maker")
    await _step_up_policy(db)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    checker = await _signed_in_checker(login, person)
    await client.get("/queue")

    missing = await _form_review(client, action["id"], "approved")
    assert missing.status_code == 403
    row = row_html(missing.text, action["id"])
    assert "Enter your password to approve" in row
    assert f'aria-describedby="password-error-{action["id"]}"' in row

    wrong = await _form_review(client, action["id"], "approved", password="my wrong guess")
    assert wrong.status_code == 403
    assert "The password is not right" in row_html(wrong.text, action["id"])
    assert "my wrong guess" not in wrong.text
    assert (await fetch(db, "SELECT failed_logins FROM users WHERE id = :id", id=checker.user.id)) == [(1,)]

    right = await _form_review(client, action["id"], "approved", password=PASSWORD)
    assert right.status_code == 200, right.text
    assert "Action approved and executed" in right.text
    assert PASSWORD not in right.text


async def test_the_detail_panel_shows_a_wrong_password_inline(client, db, login, person):
    maker = await person("maker")
    await _step_up_policy(db)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await _signed_in_checker(login, person)
    await client.get(f"/actions/{action['id']}")

    wrong = await _form_review(
        client, action["id"], "approved", target=f"decision-{action['id']}", password="nope nope"
    )

    assert wrong.status_code == 403
    assert f'id="decision-{action["id"]}"' in wrong.text
    assert "The password is not right" in wrong.text


def _checks(html: str) -> dict[str, str]:
    """The pre-check page's rows: action id -> its data-allowed."""
    return dict(
        re.findall(r'<tr id="precheck-([0-9a-f-]+)" data-action-id="[^"]+" data-allowed="(\w+)"', html)
    )


async def test_review_selected_prechecks_then_decides_each_and_lists_the_outcomes(client, db, login, person):
    maker, other = await person("maker"), await person("checker")
    first = await submit(client, maker, "create_promotion", promotion_payload())
    gone = await submit(client, maker, "create_promotion", promotion_payload())
    await _step_up_policy(db)
    stepped = await submit(client, maker, "create_promotion", promotion_payload())
    await _signed_in_checker(login, person)

    queue = (await client.get("/queue")).text
    assert 'form="bulk-review"' in row_html(queue, first["id"])
    assert "Review selected" in queue
    token = csrf_from_page(queue)
    assert (await review(client, other, gone["id"])).status_code == 200  # decided by someone else meanwhile

    ids = [first["id"], gone["id"], stepped["id"]]
    page = await client.post("/queue/bulk-review", data={"ids": ids, "_csrf_token": token})

    assert page.status_code == 200, page.text
    assert _checks(page.text) == {first["id"]: "true", gone["id"]: "false", stepped["id"]: "true"}
    assert "The action is not pending any more: it is approved" in page.text
    assert "needs your password" in page.text
    assert 'id="bulk-password"' in page.text
    approve_form = re.search(r'<form[^>]*id="bulk-approve".*?</form>', page.text, re.DOTALL).group(0)
    assert gone["id"] not in approve_form and first["id"] in approve_form

    token = csrf_from_page(page.text)
    wrong = await client.post(
        "/queue/bulk-review/confirm",
        data={
            "ids": [first["id"], stepped["id"]],
            "decision": "approved",
            "password": "bad",
            "_csrf_token": token,
        },
    )
    assert wrong.status_code == 403
    assert 'id="bulk-password-error"' in wrong.text and "The password is not right" in wrong.text
    assert (await fetch(db, "SELECT status FROM workflow_actions WHERE id = :id", id=first["id"])) == [
        ("pending",)
    ]

    done = await client.post(
        "/queue/bulk-review/confirm",
        data={
            "ids": [first["id"], stepped["id"]],
            "decision": "approved",
            "password": PASSWORD,
            "_csrf_token": csrf_from_page(wrong.text),
        },
    )
    assert done.status_code == 200, done.text
    outcomes = dict(
        re.findall(r'<tr id="outcome-([0-9a-f-]+)" data-action-id="[^"]+" data-outcome="(\w+)"', done.text)
    )
    assert outcomes == {first["id"]: "approved", stepped["id"]: "approved"}
    batch = re.search(r'<code id="batch-id">([0-9a-f-]+)</code>', done.text).group(1)
    stored = await fetch(
        db,
        "SELECT DISTINCT details->>'batchId' FROM audit_events WHERE event_type = 'action_approved'"
        " AND action_id = ANY(CAST(:ids AS uuid[]))",
        ids=[first["id"], stepped["id"]],
    )
    assert stored == [(batch,)]


async def test_reject_selected_needs_the_comment_and_keeps_it_when_refused(client, db, login, person):
    maker = await person("maker")
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await _signed_in_checker(login, person)
    token = csrf_from_page((await client.get("/queue")).text)

    refused = await client.post(
        "/queue/bulk-review/confirm",
        data={"ids": [action["id"]], "decision": "rejected", "_csrf_token": token},
    )
    assert refused.status_code == 422
    assert 'id="bulk-comment-error"' in refused.text

    done = await client.post(
        "/queue/bulk-review/confirm",
        data={"ids": [action["id"]], "decision": "rejected", "comment": "Not now", "_csrf_token": token},
    )
    assert done.status_code == 200
    assert 'data-outcome="rejected"' in done.text


async def test_review_selected_with_nothing_selected_says_so(client, login, person):
    await _signed_in_checker(login, person)
    token = csrf_from_page((await client.get("/queue")).text)

    page = await client.post("/queue/bulk-review", data={"_csrf_token": token})

    assert page.status_code == 422
    assert "Select at least one request" in page.text


async def test_a_maker_sees_no_bulk_form_and_may_not_post_one(client, login, person):
    maker = await person("maker")
    assert (await login(maker.user.username)).status_code == 303
    queue = (await client.get("/queue")).text
    assert 'id="bulk-review"' not in queue

    response = await client.post("/queue/bulk-review", data={"_csrf_token": csrf_from_page(queue)})
    assert response.status_code == 403
