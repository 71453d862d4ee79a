"""Action detail, history with filters and pages, and escaping of user data on every page."""

import re
import uuid

import pytest

from app.workflow import service
from tests.factories import make_actor, promotion_payload, submit, user_payload
from tests.http.conftest import csrf_headers, row_html

pytestmark = pytest.mark.anyio

XSS = "<img src=x onerror=alert(1)>"


async def _api_review(client, actor, action_id: str, status: str = "approved", comment: str | None = None):
    body = {"status": status} | ({"reviewComment": comment} if comment is not None else {})
    return await client.post(f"/api/workflow/actions/{action_id}/review", json=body, headers=actor.headers)


@pytest.fixture
async def viewer(client, login, person):
    """Logged in with the checker role, so the queue shows review buttons."""
    vera = await person("checker")
    assert (await login(vera.user.username)).status_code == 303
    return vera


def _history_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="history-row-([0-9a-f-]{36})"', html)


async def test_detail_shows_payload_status_reviews_timeline_and_result(client, maker, checker, viewer):
    payload = user_payload(username="detail.user", fullName="Detail Person", roles=["maker", "checker"])
    action = await submit(client, maker, "create_user", payload)
    approved = await _api_review(client, checker, action["id"], comment="ok by me")
    assert approved.status_code == 200
    result = approved.json()["data"]["executionResult"]

    response = await client.get(f"/actions/{action['id']}")

    assert response.status_code == 200
    html = response.text
    assert "<html" in html
    for shown in ("detail.user", "Detail Person", payload["email"], "maker, checker"):
        assert shown in html
    assert "status-approved" in html
    reviews = html[html.index("<h2>Reviews</h2>") : html.index("<h2>Audit timeline</h2>")]
    assert checker.user.username in reviews and "ok by me" in reviews and "status-approved" in reviews
    timeline = html[html.index("<h2>Audit timeline</h2>") :]
    assert re.search(rf"<strong>action submitted</strong> by {re.escape(maker.user.username)}", timeline)
    assert re.search(rf"<strong>action approved</strong> by {re.escape(checker.user.username)}", timeline)
    assert timeline.index("action submitted") < timeline.index("action approved")
    assert "Execution result" in html
    assert result["userId"] in html
    assert "Activation expires at" in html
    # the activation link is shown once to the approving checker, never stored or shown again
    assert "/activate/" not in html
    assert "Approve" not in html  # decided: no decision form


async def test_detail_of_a_pending_action_offers_the_decision_to_a_checker(client, maker, viewer):
    action = await submit(
        client, maker, "create_promotion", promotion_payload(code="DETAIL-1", name="Autumn")
    )
    html = (await client.get(f"/actions/{action['id']}")).text
    assert "status-pending" in html
    assert "DETAIL-1" in html and "Autumn" in html and "10.00 %" in html
    assert "No reviews yet" in html
    assert f'hx-post="/actions/{action["id"]}/review"' in html


async def test_detail_shows_a_refused_execution_and_its_reason(client, db, maker, checker, viewer):
    action = await submit(client, maker, "create_user", user_payload(username="taken.later"))
    await make_actor(db, "maker", username="taken.later")
    refused = await _api_review(client, checker, action["id"])
    assert refused.status_code >= 400

    html = (await client.get(f"/actions/{action['id']}")).text

    assert "status-pending" in html
    assert "Last execution attempt failed" in html
    assert "already taken" in html
    assert "execution failed" in html


async def test_detail_of_a_rejected_action_shows_the_comment(client, maker, checker, viewer):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await _api_review(client, checker, action["id"], "rejected", "dates overlap")).status_code == 200
    html = (await client.get(f"/actions/{action['id']}")).text
    assert "status-rejected" in html
    assert "dates overlap" in html
    assert "action rejected" in html


@pytest.mark.parametrize("bad_id", ["not-a-uuid", str(uuid.uuid4())])
async def test_detail_of_a_missing_action_is_a_404_page(client, viewer, bad_id):
    response = await client.get(f"/actions/{bad_id}")
    assert response.status_code == 404
    assert "<html" in response.text
    assert "No action has this id" in response.text


async def test_history_lists_every_status_newest_first(client, maker, checker, viewer):
    first = await submit(client, maker, "create_promotion", promotion_payload())
    second = await submit(client, maker, "create_user", user_payload())
    await _api_review(client, checker, first["id"], "rejected", "no")
    html = (await client.get("/history")).text
    assert "2 actions" in html
    assert _history_ids(html) == [second["id"], first["id"]]
    assert "status-rejected" in html and "status-pending" in html


async def test_history_filters_by_status_type_and_maker(client, db, maker, checker, viewer):
    other = await make_actor(db, "maker")
    approved = await submit(client, maker, "create_promotion", promotion_payload())
    pending_user = await submit(client, maker, "create_user", user_payload())
    others = await submit(client, other, "create_promotion", promotion_payload())
    assert (await _api_review(client, checker, approved["id"])).status_code == 200

    by_status = (await client.get("/history", params={"status": "approved"})).text
    assert _history_ids(by_status) == [approved["id"]]
    assert '<option value="approved" selected>' in by_status

    by_type = (await client.get("/history", params={"actionType": "create_promotion"})).text
    assert sorted(_history_ids(by_type)) == sorted([approved["id"], others["id"]])

    by_maker = (await client.get("/history", params={"makerId": other.id})).text
    assert _history_ids(by_maker) == [others["id"]]
    assert f'<option value="{other.id}" selected>' in by_maker

    combined = (
        await client.get(
            "/history", params={"status": "pending", "makerId": maker.id}, headers={"HX-Request": "true"}
        )
    ).text
    assert _history_ids(combined) == [pending_user["id"]]

    nonsense = (await client.get("/history", params={"status": "bogus", "makerId": "nope"})).text
    assert len(_history_ids(nonsense)) == 3  # unknown filters are ignored, not a server error


async def test_history_paginates_by_25(client, db, maker, checker, viewer):
    async with db.sessions() as session, session.begin():
        for _ in range(27):
            await service.submit_action(
                session=session,
                maker=maker.user,
                action_type="create_promotion",
                raw_payload=promotion_payload(),
            )

    page_one = (await client.get("/history", params={"status": "pending"})).text
    assert "27 actions, page 1 of 2" in page_one
    first_ids = _history_ids(page_one)
    assert len(first_ids) == 25
    next_link = re.search(r'<a href="([^"]+)" rel="next">', page_one)
    assert next_link, "no link to page 2"
    assert "status=pending" in next_link.group(1) and "page=2" in next_link.group(1)

    page_two = (await client.get(next_link.group(1).replace("&amp;", "&"))).text
    assert "page 2 of 2" in page_two
    second_ids = _history_ids(page_two)
    assert len(second_ids) == 2
    assert not set(first_ids) & set(second_ids)
    assert 'rel="prev"' in page_two and 'rel="next"' not in page_two

    beyond = (await client.get("/history", params={"page": "3"})).text
    assert _history_ids(beyond) == []
    for odd in ("0", "-1", "abc", "99999999999"):
        assert (await client.get("/history", params={"page": odd})).status_code == 200


async def test_user_data_is_escaped_on_queue_detail_and_history(client, maker, checker, viewer):
    action = await submit(client, maker, "create_user", user_payload(fullName=XSS))
    promo = await submit(client, maker, "create_promotion", promotion_payload(name=XSS, description=XSS))

    for path in ("/queue", f"/actions/{action['id']}", f"/actions/{promo['id']}", "/history"):
        html = (await client.get(path)).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, path
        assert "<img src=x" not in html, path

    fragment = (await client.get("/queue", headers={"HX-Request": "true"})).text
    assert "&lt;img" in row_html(fragment, action["id"]) and "<img" not in fragment

    assert (
        await _api_review(client, checker, promo["id"], "rejected", "<script>alert(2)</script>")
    ).status_code == 200
    detail = (await client.get(f"/actions/{promo['id']}")).text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in detail
    assert "<script>alert(2)" not in detail


async def test_an_escaped_name_is_also_escaped_in_the_review_fragment(client, maker, viewer):
    action = await submit(client, maker, "create_user", user_payload(fullName=XSS))
    response = await client.post(
        f"/actions/{action['id']}/review",
        data={"decision": "approved"},
        headers=csrf_headers(client) | {"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "&lt;img" in response.text and "<img" not in response.text
