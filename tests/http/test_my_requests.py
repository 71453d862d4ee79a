"""My requests and withdraw in the pages (issue 9 items 4 and 9): a maker's own requests with a
status filter made of the statuses they have, withdraw behind a confirmation, and the notices about
their requests that others decided."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_actor, promotion_payload, review, submit
from tests.http.conftest import HX, csrf_from_page, csrf_headers, fetch, row_html

pytestmark = pytest.mark.anyio


@pytest.fixture
async def mia(client, login, person):
    """A maker, logged in."""
    actor = await person("maker")
    assert (await login(actor.user.username)).status_code == 303
    return actor


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="my-request-([0-9a-f-]{36})"', html)


def _options(html: str) -> list[str]:
    select = html[html.index('<select id="my-status"') : html.index("</select>")]
    return re.findall(r'<option value="([a-z_]*)"', select)


async def test_my_requests_lists_only_mine_with_a_filter_of_the_statuses_i_have(client, db, mia, checker):
    pending = await submit(client, mia, "create_promotion", promotion_payload())
    approved = await submit(client, mia, "create_promotion", promotion_payload())
    assert (await review(client, checker, approved["id"])).status_code == 200
    someone_else = await make_actor(db, "maker")
    theirs = await submit(client, someone_else, "create_promotion", promotion_payload())

    page = await client.get("/my-requests")

    assert page.status_code == 200
    assert sorted(_row_ids(page.text)) == sorted([pending["id"], approved["id"]])
    assert theirs["id"] not in page.text
    assert _options(page.text) == ["", "pending", "approved"]  # no rejected, cancelled...: none of mine is
    assert 'label="Pending"' in page.text and 'label="Decided"' in page.text
    only_pending = await client.get("/my-requests?status=pending", headers=HX)
    assert _row_ids(only_pending.text) == [pending["id"]]
    assert "<html" not in only_pending.text
    assert "Withdraw" in only_pending.text
    assert 'href="/my-requests"' in (await client.get("/queue")).text  # the navigation links to it


async def test_withdraw_asks_first_then_withdraws(client, db, mia, checker):
    action = await submit(client, mia, "create_promotion", promotion_payload())
    detail = await client.get(f"/actions/{action['id']}")
    assert f'href="/actions/{action["id"]}/withdraw"' in detail.text

    confirm = await client.get(f"/actions/{action['id']}/withdraw")
    assert confirm.status_code == 200
    assert "Withdraw this request?" in confirm.text
    assert await fetch(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action["id"]) == [
        ("pending",)
    ]
    token = csrf_from_page(confirm.text)

    done = await client.post(
        f"/actions/{action['id']}/withdraw", data={"_csrf_token": token}, follow_redirects=False
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/my-requests?withdrawn={action['id']}"
    assert await fetch(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action["id"]) == [
        ("cancelled",)
    ]
    landed = await client.get(done.headers["location"])
    assert "Request withdrawn" in landed.text
    again = await client.post(f"/actions/{action['id']}/withdraw", data={"_csrf_token": token})
    assert again.status_code == 409
    assert "not pending any more: it is cancelled" in again.text
    assert "Withdraw" not in (await client.get(f"/actions/{action['id']}")).text.split("<h2>Reviews")[0]


async def test_withdraw_pages_refuse_someone_elses_action_and_a_missing_token(client, db, mia):
    other = await make_actor(db, "maker")
    theirs = await submit(client, other, "create_promotion", promotion_payload())
    mine = await submit(client, mia, "create_promotion", promotion_payload())

    assert (await client.get(f"/actions/{theirs['id']}/withdraw")).status_code == 403
    assert (
        "withdraw" not in (await client.get(f"/actions/{theirs['id']}")).text.lower().split("<h2>reviews")[0]
    )
    refused = await client.post(f"/actions/{theirs['id']}/withdraw", headers=csrf_headers(client))
    assert refused.status_code == 403
    no_token = await client.post(f"/actions/{mine['id']}/withdraw")
    assert no_token.status_code == 403
    assert await fetch(db, "SELECT status FROM workflow_actions ORDER BY status") == [
        ("pending",),
        ("pending",),
    ]


async def test_the_api_route_takes_a_session_with_its_csrf_token(client, db, mia):
    action = await submit(client, mia, "create_promotion", promotion_payload())
    await client.get("/my-requests")
    url = f"/api/workflow/actions/{action['id']}/cancel"

    assert (await client.post(url)).status_code == 403  # no CSRF token
    response = await client.post(url, headers=csrf_headers(client))

    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "cancelled"


def _toasts(html: str) -> list[str]:
    return re.findall(r'<div class="toast" data-action-id="([0-9a-f-]{36})" data-status="([a-z_]+)"', html)


def _count(html: str) -> int:
    return int(re.search(r'id="notice-count"[^>]*data-count="(\d+)"', html).group(1))


async def test_notices_tell_what_others_decided_since_a_moment(client, db, mia, checker):
    before = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await client.get("/my-requests")  # the header counts from here
    approved = await submit(client, mia, "create_promotion", promotion_payload())
    rejected = await submit(client, mia, "create_promotion", promotion_payload())
    withdrawn = await submit(client, mia, "create_promotion", promotion_payload())
    await submit(client, mia, "create_promotion", promotion_payload())  # still pending
    assert (await review(client, checker, approved["id"])).status_code == 200
    assert (await review(client, checker, rejected["id"], "rejected", "not now")).status_code == 200
    assert (
        await client.post(f"/api/workflow/actions/{withdrawn['id']}/cancel", headers=mia.headers)
    ).status_code == 200

    answer = await client.get("/my-requests/notices", params={"since": before}, headers=HX)

    assert answer.status_code == 200
    assert _toasts(answer.text) == [(approved["id"], "approved"), (rejected["id"], "rejected")]
    assert f"by {checker.user.username}" in answer.text and "not now" in answer.text
    assert _count(answer.text) == 2
    assert answer.headers.get("hx-trigger") == "requests-changed"
    since = re.search(r'id="notices-since" name="since" value="([^"]+)"', answer.text).group(1)
    later = await client.get("/my-requests/notices", params={"since": since}, headers=HX)
    assert _toasts(later.text) == []  # each notice once
    assert _count(later.text) == 2  # until My requests is opened again
    await client.get("/my-requests")
    assert _count((await client.get("/my-requests/notices", headers=HX)).text) == 0


async def test_a_checker_only_has_no_requests_to_hear_about(client, login, person):
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    for path in ("/history", "/queue"):
        html = (await client.get(path)).text
        assert 'href="/my-requests"' not in html
        assert "data-notices" not in html and "/my-requests/events" not in html


async def test_every_page_of_a_maker_listens_for_notices(client, mia):
    page = await client.get("/my-requests")
    assert 'sse-connect="/my-requests/events"' in page.text
    assert "data-notices" in page.text and 'id="toasts"' in page.text
    queue = await client.get("/queue")
    # the queue's own stream carries the notices: one stream per page
    assert queue.text.count("sse-connect=") == 1
    assert 'sse-connect="/queue/events"' in queue.text and "data-notices" in queue.text


async def test_a_row_in_a_checkers_hand_says_its_maker_withdrew_it(client, login, person, maker):
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    action = await submit(client, maker, "create_promotion", promotion_payload())
    withdrawn = await client.post(f"/api/workflow/actions/{action['id']}/cancel", headers=maker.headers)
    assert withdrawn.status_code == 200

    kept = row_html((await client.get(f"/queue?keep={action['id']}", headers=HX)).text, action["id"])

    assert "Cancelled by its maker" in kept
