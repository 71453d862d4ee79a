"""What a checker reads: stored summaries that name people, labelled results, times, queue texts."""

import re

import pytest

from tests.factories import account_payload, make_actor, promotion_payload, submit, user_payload
from tests.http.conftest import HX, csrf_headers, fetch, row_html

pytestmark = pytest.mark.anyio


@pytest.fixture
async def viewer(client, login, person):
    """A checker, logged in through the form."""
    vera = await person("checker")
    assert (await login(vera.user.username)).status_code == 303
    return vera


async def _holder(db):
    return await make_actor(
        db, username="holder.ana"
    )  # full name "Holder.Ana", email holder.ana@test.example


async def test_create_account_names_its_holder_everywhere(client, db, maker, viewer):
    holder = await _holder(db)
    action = await submit(client, maker, "create_account", account_payload(str(holder.user.id)))
    expected = "Holder.Ana (holder.ana, holder.ana@test.example)"

    assert expected in action["summary"]
    listed = await client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)
    assert expected in listed.json()["data"]["summary"]
    assert expected in row_html((await client.get("/queue")).text, action["id"])
    detail = (await client.get(f"/actions/{action['id']}")).text
    assert expected in detail.split("<h1>")[1].split("</hgroup>")[0]


async def test_the_summary_is_stored_at_submission_and_not_rebuilt(client, db, maker, viewer):
    holder = await _holder(db)
    action = await submit(client, maker, "create_account", account_payload(str(holder.user.id)))
    stored = await fetch(db, "SELECT summary FROM workflow_actions WHERE id = :id", id=action["id"])
    assert stored[0][0] == action["summary"]

    # the holder renamed later: the request still reads as it did when it was made
    await fetch(
        db, "UPDATE users SET full_name = 'Someone Else' WHERE id = :id RETURNING id", id=holder.user.id
    )
    again = await client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)
    assert again.json()["data"]["summary"] == action["summary"]


async def test_results_have_labels_and_times_have_a_utc_title(client, maker, checker, viewer):
    action = await submit(client, maker, "create_user", user_payload(username="labelled"))
    approved = await client.post(
        f"/api/workflow/actions/{action['id']}/review",
        json={"status": "approved", "reviewComment": "fine"},
        headers=checker.headers,
    )
    assert approved.status_code == 200

    html = (await client.get(f"/actions/{action['id']}")).text

    result = html[html.index("Execution result") :]
    for raw_key in ("userId", "activationExpiresAt", "activationSentTo"):
        assert raw_key not in html
    assert "Activation expires at" in result
    assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC" data-local>', result)


async def test_the_timeline_puts_no_space_before_a_comment(client, maker, checker, viewer):
    action = await submit(client, maker, "create_user", user_payload())
    rejected = await client.post(
        f"/api/workflow/actions/{action['id']}/review",
        json={"status": "rejected", "reviewComment": "not now"},
        headers=checker.headers,
    )
    assert rejected.status_code == 200
    html = (await client.get(f"/actions/{action['id']}")).text
    assert f"by {checker.user.username}: “not now”" in html[html.index("Audit timeline") :]


async def test_a_fixed_discount_reads_as_an_amount_off(client, maker, viewer):
    action = await submit(
        client, maker, "create_promotion", promotion_payload(discountType="fixed", discountValue="5")
    )
    html = (await client.get(f"/actions/{action['id']}")).text
    assert "(fixed)" not in html
    assert "5.00 off" in html


async def test_a_filtered_empty_queue_counts_the_other_types(client, maker, viewer):
    await submit(client, maker, "create_user", user_payload())
    await submit(client, maker, "create_user", user_payload())

    html = (await client.get("/queue?actionType=create_promotion")).text

    assert "No Create promotion request is waiting" in html
    assert "2 pending of other types" in html
    assert 'href="/queue"' in html


async def test_a_makers_own_row_says_it_waits_for_a_checker(client, login, person):
    both = await person("maker", "checker")
    assert (await login(both.user.username)).status_code == 303
    action = await submit(client, both, "create_user", user_payload())

    row = row_html((await client.get("/queue")).text, action["id"])

    assert "Waiting for a checker" in row
    assert "Approve" not in row


async def test_a_refresh_keeps_the_rows_in_hand_and_says_who_decided_them(client, maker, checker, viewer):
    held = await submit(client, maker, "create_user", user_payload())
    other = await submit(client, maker, "create_user", user_payload())
    for action in (held, other):
        decided = await client.post(
            f"/api/workflow/actions/{action['id']}/review",
            json={"status": "approved"},
            headers=checker.headers,
        )
        assert decided.status_code == 200

    html = (await client.get(f"/queue?keep={held['id']},not-an-id", headers=HX)).text

    kept = row_html(html, held["id"])
    assert f"Approved by {checker.user.username}" in kept
    assert "just now" in kept
    assert row_html(html, other["id"]) == ""  # decided rows nobody is on still leave


async def test_the_history_table_reflows_on_a_phone(client, maker, viewer):
    await submit(client, maker, "create_user", user_payload())
    html = (await client.get("/history")).text
    assert '<table class="reflow">' in html
    for label in ("Status", "Maker", "Created"):
        assert f'data-label="{label}"' in html


async def test_a_decision_on_the_detail_page_answers_with_the_detail_fragment(client, maker, viewer):
    action = await submit(client, maker, "create_user", user_payload())
    headers = csrf_headers(client) | HX | {"HX-Target": f"decision-{action['id']}"}

    refused = await client.post(
        f"/actions/{action['id']}/review", data={"decision": "rejected", "comment": ""}, headers=headers
    )
    assert refused.status_code == 422
    assert f'id="decision-{action["id"]}"' in refused.text
    assert "<tr" not in refused.text
    assert "A comment is required to reject" in refused.text

    approved = await client.post(
        f"/actions/{action['id']}/review", data={"decision": "approved", "comment": ""}, headers=headers
    )
    assert approved.status_code == 200
    assert f'id="decision-{action["id"]}"' in approved.text
    assert "Action approved and executed" in approved.text
    assert "<tr" not in approved.text

    again = await client.post(
        f"/actions/{action['id']}/review", data={"decision": "approved", "comment": ""}, headers=headers
    )
    assert again.status_code == 409
    assert "not pending any more" in again.text
    assert "<tr" not in again.text
