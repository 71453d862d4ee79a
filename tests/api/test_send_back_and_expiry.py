"""Send back and resubmit, and expiry, through the JSON API: a checker sends a pending action back
with a comment; its maker resubmits a new payload as the next version, which voids earlier
approvals; a pending action past its time to live is expired at review and by the sweeper."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.workflow.expiry import sweep_expired
from tests.factories import make_actor, promotion_payload, review, set_policy, submit

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"


async def event_types_of(db, action_id: str) -> list[str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event_type FROM audit_events WHERE action_id = :id ORDER BY id"), {"id": action_id}
        )
        return [row[0] for row in rows]


async def fetch(client, actor, action_id: str) -> dict:
    response = await client.get(f"{ACTIONS}/{action_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def send_back(client, actor, action_id: str, comment: str | None = "Use a smaller discount"):
    return await review(client, actor, action_id, "changes_requested", comment)


async def resubmit(client, actor, action_id: str, payload: dict):
    return await client.post(
        f"{ACTIONS}/{action_id}/resubmit", json={"payload": payload}, headers=actor.headers
    )


# --- send back and resubmit ------------------------------------------------------------------------


async def test_send_back_then_resubmit_then_approve_version_two(client, db, maker, checker):
    first = promotion_payload(discountValue="50.00")
    action = await submit(client, maker, "create_promotion", first)
    assert action["version"] == 1

    response = await send_back(client, checker, action["id"])
    assert response.status_code == 200, response.text
    sent_back = response.json()["data"]["action"]
    assert sent_back["status"] == "changes_requested"
    assert sent_back["reviewComment"] == "Use a smaller discount"
    assert sent_back["checkerId"] == checker.id

    second = first | {"discountValue": "15.00", "name": "Smaller sale"}
    response = await resubmit(client, maker, action["id"], second)
    assert response.status_code == 200, response.text
    again = response.json()["data"]
    assert again["status"] == "pending"
    assert again["version"] == 2
    assert again["payload"]["discountValue"] == "15.00"
    assert again["checkerId"] is None and again["reviewComment"] is None
    assert "15.00" in again["summary"]

    detail = await fetch(client, maker, action["id"])
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][0]["payload"]["discountValue"] == "50.00"
    changes = {c["field"]: (c["before"], c["after"]) for c in detail["versions"][1]["changes"]}
    assert changes == {"discountValue": ("50.00", "15.00"), "name": (first["name"], "Smaller sale")}
    assert detail["versions"][0]["changes"] == []

    # the checker who sent it back may approve the new version
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["status"] == "approved"
    async with db.sessions() as session:
        value = (
            await session.exec(
                text("SELECT discount_value::text FROM promotions WHERE code = :code").bindparams(
                    code=first["code"]
                )
            )
        ).one()[0]
    assert value == "15.00"
    assert {"action_sent_back", "action_resubmitted", "action_approved"} <= set(
        await event_types_of(db, action["id"])
    )


async def test_sending_back_needs_a_comment(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    for comment in (None, "   "):
        response = await send_back(client, checker, action["id"], comment)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "reviewComment"
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


async def test_only_the_maker_resubmits_and_only_from_changes_requested(client, db, maker, checker):
    payload = promotion_payload()
    action = await submit(client, maker, "create_promotion", payload)
    # not sent back yet
    response = await resubmit(client, maker, action["id"], payload)
    assert response.status_code == 409, response.text
    assert "changes_requested" in response.json()["error"] or "sent back" in response.json()["error"]

    await send_back(client, checker, action["id"])
    other_maker = await make_actor(db, "maker")
    for someone in (other_maker, checker):
        response = await resubmit(client, someone, action["id"], payload)
        assert response.status_code == 403, response.text
    # a sent-back action cannot be approved before it is resubmitted
    assert (await review(client, checker, action["id"])).status_code == 409


async def test_resubmission_is_validated_like_a_submission(client, maker, checker):
    payload = promotion_payload()
    action = await submit(client, maker, "create_promotion", payload)
    await send_back(client, checker, action["id"])
    response = await resubmit(client, maker, action["id"], payload | {"discountValue": "-3"})
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "discountValue"
    response = await client.post(
        f"{ACTIONS}/{action['id']}/resubmit", json={"nothing": 1}, headers=maker.headers
    )
    assert response.status_code == 400
    detail = await fetch(client, maker, action["id"])
    assert detail["status"] == "changes_requested" and detail["version"] == 1
    response = await resubmit(client, maker, "not-a-uuid", payload)
    assert response.status_code == 400


async def test_a_resubmission_voids_an_earlier_approval_under_two_of_m(client, db, maker):
    await set_policy(db, "create_promotion", required_approvals=2)
    first, second, third = [await make_actor(db, "checker") for _ in range(3)]
    payload = promotion_payload()
    action = await submit(client, maker, "create_promotion", payload)
    assert (await review(client, first, action["id"])).status_code == 200
    assert (await fetch(client, maker, action["id"]))["approvals"] == 1
    assert (await send_back(client, second, action["id"])).status_code == 200

    response = await resubmit(client, maker, action["id"], payload | {"name": "Renamed"})
    assert response.status_code == 200, response.text
    detail = await fetch(client, maker, action["id"])
    assert detail["approvals"] == 0 and detail["approvedBy"] == []
    assert {p["username"] for p in detail["mayStillApprove"]} == {
        first.user.username,
        second.user.username,
        third.user.username,
    }
    # the earlier approval does not count: one approval of version 2 is not enough
    response = await review(client, third, action["id"])
    assert response.json()["data"]["action"]["status"] == "pending"
    assert response.json()["data"]["action"]["approvals"] == 1
    # and the first checker may approve again, completing the quorum for version 2
    response = await review(client, first, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["status"] == "approved"
    assert response.json()["data"]["action"]["approvals"] == 2


async def test_statuses_are_filterable(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await send_back(client, checker, action["id"])
    response = await client.get(f"{ACTIONS}?status=changes_requested", headers=checker.headers)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["data"]] == [action["id"]]
    assert response.json()["pagination"]["total"] == 1
    response = await client.get(f"{ACTIONS}?status=expired", headers=checker.headers)
    assert response.status_code == 200 and response.json()["data"] == []


async def test_openapi_documents_resubmit(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "post" in schema["paths"]["/api/workflow/actions/{action_id}/resubmit"]
    review_in = schema["components"]["schemas"]["ReviewIn"]["properties"]["status"]
    assert "changes_requested" in str(review_in)
    assert {"version", "expiresAt"} <= set(schema["components"]["schemas"]["ActionOut"]["properties"])
    assert "versions" in schema["components"]["schemas"]["ActionDetailOut"]["properties"]


# --- expiry ----------------------------------------------------------------------------------------


async def _set_expiry(db, action_id: str, expires_in: timedelta) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workflow_actions SET expires_at = now() + :delta WHERE id = :id"),
            {"delta": expires_in, "id": action_id},
        )


async def test_an_action_expires_after_its_pinned_time_to_live(client, db, maker):
    await set_policy(db, "create_promotion", ttl_hours=5)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    from datetime import datetime

    created = datetime.fromisoformat(action["createdAt"])
    expires = datetime.fromisoformat(action["expiresAt"])
    assert expires - created == timedelta(hours=5)
    # a later policy change does not move it: it is pinned
    await set_policy(db, "create_promotion", ttl_hours=1)
    assert (await fetch(client, maker, action["id"]))["expiresAt"] == action["expiresAt"]


async def test_review_just_before_the_ttl_goes_through(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await _set_expiry(db, action["id"], timedelta(seconds=5))
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["status"] == "approved"


async def test_review_just_after_the_ttl_is_refused_and_marks_it_expired(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await _set_expiry(db, action["id"], timedelta(seconds=-1))
    response = await review(client, checker, action["id"])
    assert response.status_code == 409, response.text
    assert "expired" in response.json()["error"]
    detail = await fetch(client, maker, action["id"])
    assert detail["status"] == "expired"
    assert "action_expired" in await event_types_of(db, action["id"])
    # and it stays so: a second review hears it is not pending
    response = await review(client, checker, action["id"], "rejected", "late")
    assert response.status_code == 409


async def test_the_sweeper_expires_only_what_is_due(client, db, maker, checker):
    due = await submit(client, maker, "create_promotion", promotion_payload())
    fresh = await submit(client, maker, "create_promotion", promotion_payload())
    sent_back = await submit(client, maker, "create_promotion", promotion_payload())
    await send_back(client, checker, sent_back["id"])
    await _set_expiry(db, due["id"], timedelta(seconds=-1))
    await _set_expiry(db, fresh["id"], timedelta(seconds=5))
    await _set_expiry(db, sent_back["id"], timedelta(seconds=-1))
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert await sweep_expired(raw) == 1
        assert await sweep_expired(raw) == 0
    assert (await fetch(client, maker, due["id"]))["status"] == "expired"
    assert (await fetch(client, maker, fresh["id"]))["status"] == "pending"
    assert (await fetch(client, maker, sent_back["id"]))["status"] == "changes_requested"
    assert "action_expired" in await event_types_of(db, due["id"])
    response = await client.get(f"{ACTIONS}?status=expired", headers=maker.headers)
    assert response.json()["pagination"]["total"] == 1
    response = await client.get(f"{ACTIONS}?status=pending", headers=maker.headers)
    assert response.json()["pagination"]["total"] == 1


async def test_disabling_a_maker_cancels_what_was_sent_back_to_them(client, db, maker, checker):
    from app.accounts.service import disable_user

    action = await submit(client, maker, "create_promotion", promotion_payload())
    await send_back(client, checker, action["id"])
    async with db.sessions() as session, session.begin():
        await disable_user(session=session, username=maker.user.username, via="test")
    assert (await fetch(client, checker, action["id"]))["status"] == "cancelled"


async def test_a_resubmission_that_takes_a_pending_requests_key_is_a_409_naming_it(
    client, db, maker, checker
):
    """Sent back, an action holds no key; resubmitted, its keys count again, so a resubmission with
    the code another pending request holds is refused like a submission, and nothing changes."""
    first = promotion_payload()
    action = await submit(client, maker, "create_promotion", first)
    assert (await send_back(client, checker, action["id"])).status_code == 200
    other = await submit(client, maker, "create_promotion", promotion_payload())

    response = await resubmit(client, maker, action["id"], first | {"code": other["payload"]["code"]})

    assert response.status_code == 409, response.text
    assert response.json()["pendingActionId"] == other["id"]
    kept = await fetch(client, maker, action["id"])
    assert kept["status"] == "changes_requested" and kept["version"] == 1
    assert kept["payload"]["code"] == first["code"]


async def test_only_someone_who_may_propose_the_type_resubmits_it(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await send_back(client, checker, action["id"])).status_code == 200
    async with db.engine.begin() as conn:  # the maker is now a checker only
        await conn.execute(text("UPDATE users SET roles = '{checker}' WHERE id = :id"), {"id": maker.id})

    response = await resubmit(client, maker, action["id"], promotion_payload())

    assert response.status_code == 403, response.text
