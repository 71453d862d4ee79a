"""The pending queue page and inline review through HTML forms."""

import re

import pytest

from tests.factories import Actor, promotion_payload, submit, user_payload
from tests.http.conftest import HX, csrf_headers, fetch, row_html

pytestmark = pytest.mark.anyio


async def _review(client, action_id: str, decision: str, comment: str = "", *, htmx: bool = True):
    return await client.post(
        f"/actions/{action_id}/review",
        data={"decision": decision, "comment": comment},
        headers=csrf_headers(client) | (HX if htmx else {}),
    )


async def _status(db, action_id: str) -> str:
    return (await fetch(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action_id))[0][0]


@pytest.fixture
async def people(client, person):
    """Ana makes and also checks; Bob only checks."""
    return await person("maker", "checker"), await person("checker")


async def _login_as(login, actor: Actor) -> None:
    assert (await login(actor.user.username)).status_code == 303


async def test_queue_lists_pending_rows_with_maker_and_summary(client, db, login, people):
    ana, bob = people
    user_action = await submit(
        client, ana, "create_user", user_payload(username="queued.user", fullName="Queued U")
    )
    promo = await submit(client, ana, "create_promotion", promotion_payload(code="QUEUE-1"))
    decided = await submit(client, ana, "create_promotion", promotion_payload(code="GONE-1"))
    await client.post(
        f"/api/workflow/actions/{decided['id']}/review",
        json={"status": "rejected", "reviewComment": "no"},
        headers=bob.headers,
    )
    await _login_as(login, bob)

    html = (await client.get("/queue")).text

    assert "2 pending" in html
    user_row = row_html(html, user_action["id"])
    assert "Create user" in user_row
    assert "Create user queued.user (Queued U" in user_row
    assert re.search(rf"<td[^>]*>{re.escape(ana.user.username)}</td>", user_row)
    assert "1 of 1" not in user_row and "0 of 1" in user_row
    assert f'href="/actions/{user_action["id"]}"' in user_row
    assert "Promotion QUEUE-1" in row_html(html, promo["id"])
    assert row_html(html, decided["id"]) == ""  # decided rows leave the queue
    assert html.index(user_action["id"]) < html.index(promo["id"])  # oldest first


async def test_a_makers_own_row_has_no_approve_button_but_another_checker_sees_one(client, login, people):
    ana, bob = people
    action = await submit(client, ana, "create_user", user_payload())

    await _login_as(login, ana)
    own = row_html((await client.get("/queue")).text, action["id"])
    assert own, "the maker's row is missing"
    assert 'value="approved"' not in own and "Approve" not in own
    assert 'value="rejected"' not in own
    assert "Waiting for a checker" in own

    await _login_as(login, bob)
    theirs = row_html((await client.get("/queue")).text, action["id"])
    assert re.search(r'<button type="submit" name="decision" value="approved"[^>]*>Approve</button>', theirs)
    assert 'value="rejected"' in theirs
    assert f'hx-post="/actions/{action["id"]}/review"' in theirs


async def test_a_maker_without_the_checker_role_sees_no_buttons(client, login, person, people):
    ana, _ = people
    carol = await person("maker")
    action = await submit(client, ana, "create_user", user_payload())
    await _login_as(login, carol)
    row = row_html((await client.get("/queue")).text, action["id"])
    assert row and "Approve" not in row


async def test_queue_filters_by_action_type(client, login, people):
    ana, bob = people
    user_action = await submit(client, ana, "create_user", user_payload())
    promo = await submit(client, ana, "create_promotion", promotion_payload())
    await _login_as(login, bob)

    html = (await client.get("/queue", params={"actionType": "create_promotion"})).text
    assert row_html(html, promo["id"])
    assert not row_html(html, user_action["id"])
    assert "1 pending" in html
    assert '<option value="create_promotion" selected>' in html

    fragment = (await client.get("/queue", params={"actionType": "create_user"}, headers=HX)).text
    assert row_html(fragment, user_action["id"]) and not row_html(fragment, promo["id"])

    everything = (await client.get("/queue", params={"actionType": "no_such_type"})).text
    assert row_html(everything, user_action["id"]) and row_html(everything, promo["id"])


async def test_approving_inline_swaps_the_row_and_says_where_the_link_went(client, db, login, people):
    ana, bob = people
    payload = user_payload(username="fresh.user", email="fresh.user@example.com")
    action = await submit(client, ana, "create_user", payload)
    await _login_as(login, bob)

    response = await _review(client, action["id"], "approved", "looks right")

    assert response.status_code == 200, response.text
    html = response.text
    assert "<html" not in html
    row = row_html(html, action["id"])
    assert 'class="decided"' in row
    assert "Action approved and executed" in row
    assert "status-approved" in row
    assert 'value="approved"' not in row  # no buttons any more
    assert "The activation link went to fresh.user@example.com" in row
    assert "/activate/" not in html  # the checker never sees the new user's link
    assert 'hx-swap-oob="afterbegin:#decisions"' in html
    assert await _status(db, action["id"]) == "approved"
    assert (await fetch(db, "SELECT count(*) FROM users WHERE username = 'fresh.user'"))[0][0] == 1


async def test_rejecting_inline_with_a_comment(client, db, login, people):
    ana, bob = people
    action = await submit(client, ana, "create_promotion", promotion_payload())
    await _login_as(login, bob)
    response = await _review(client, action["id"], "rejected", "wrong dates")
    assert response.status_code == 200
    row = row_html(response.text, action["id"])
    assert "Action rejected" in row and "status-rejected" in row
    assert await _status(db, action["id"]) == "rejected"
    assert action["id"] not in (await client.get("/queue")).text


async def test_rejecting_without_a_comment_is_refused_in_the_row(client, db, login, people):
    ana, bob = people
    action = await submit(client, ana, "create_promotion", promotion_payload())
    await _login_as(login, bob)

    response = await _review(client, action["id"], "rejected", "   ")

    assert response.status_code == 422
    assert "<html" not in response.text
    row = row_html(response.text, action["id"])
    assert "A comment is required to reject" in row
    assert 'role="alert"' in row
    assert 'value="rejected"' in row  # the buttons stay, to try again
    assert await _status(db, action["id"]) == "pending"


async def test_reviewing_an_already_decided_action_is_a_409_in_the_row(client, db, login, people, checker):
    ana, bob = people
    action = await submit(client, ana, "create_promotion", promotion_payload())
    first = await client.post(
        f"/api/workflow/actions/{action['id']}/review", json={"status": "approved"}, headers=checker.headers
    )
    assert first.status_code == 200
    await _login_as(login, bob)

    response = await _review(client, action["id"], "approved")

    assert response.status_code == 409
    assert "<html" not in response.text
    assert "Conflict" not in response.text  # not the error page's heading
    row = row_html(response.text, action["id"])
    assert "not pending any more" in row
    assert "approved" in row
    assert 'role="alert"' in row
    assert (await fetch(db, "SELECT count(*) FROM action_reviews WHERE action_id = :id", id=action["id"]))[0][
        0
    ] == 1


async def test_a_maker_cannot_review_their_own_action_through_the_form(client, db, login, people):
    ana, _ = people
    action = await submit(client, ana, "create_promotion", promotion_payload())
    await _login_as(login, ana)
    response = await _review(client, action["id"], "approved")
    assert response.status_code == 403
    assert "<html" not in response.text
    assert "cannot review an action you made" in row_html(response.text, action["id"])
    assert await _status(db, action["id"]) == "pending"


async def test_review_without_htmx_renders_a_decision_page(client, db, login, people):
    ana, bob = people
    action = await submit(client, ana, "create_promotion", promotion_payload())
    await _login_as(login, bob)
    response = await _review(client, action["id"], "approved", htmx=False)
    assert response.status_code == 200
    assert "<html" in response.text
    assert "Decision recorded" in response.text
    assert await _status(db, action["id"]) == "approved"


async def test_reviewing_a_bad_id_is_not_a_server_error(client, login, people):
    _, bob = people
    await _login_as(login, bob)
    response = await _review(client, "not-a-uuid", "approved")
    assert 400 <= response.status_code < 500
    response = await _review(client, "00000000-0000-0000-0000-000000000000", "approved")
    assert response.status_code == 404
