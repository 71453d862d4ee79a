"""Approval policies through the JSON API: defaults, changes under dual control by admins, versions
pinned at submission, disabled types, N-of-M approvals and who may still approve."""

import pytest
from sqlmodel import func, select

from app.actions import REGISTRY
from app.models import Promotion, User
from tests.factories import (
    make_actor,
    policy_change,
    promotion_payload,
    review,
    set_policy,
    submit,
    user_payload,
)

pytestmark = pytest.mark.anyio

TYPES = "/api/workflow/action-types"
ACTIONS = "/api/workflow/actions"


async def fetch(client, actor, action_id: str) -> dict:
    response = await client.get(f"{ACTIONS}/{action_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def promotions(db) -> int:
    async with db.sessions() as session:
        return (await session.exec(select(func.count()).select_from(Promotion))).one()


# --- action types and defaults ----------------------------------------------------------------------


async def test_action_types_list_each_type_with_its_schema_and_default_policy(client, maker):
    response = await client.get(TYPES, headers=maker.headers)
    assert response.status_code == 200, response.text
    types = {item["name"]: item for item in response.json()["data"]}
    assert list(types) == list(REGISTRY)
    assert {"create_user", "create_account", "create_promotion", "update_policy"} <= set(types)
    promotion = types["create_promotion"]
    assert promotion["label"] == "Create promotion"
    assert promotion["makerRole"] == "maker"
    assert promotion["payloadSchema"]["type"] == "object"
    assert {"code", "discountType", "startDate"} <= set(promotion["payloadSchema"]["properties"])
    assert promotion["policy"] | {} == promotion["policy"]
    assert {k: promotion["policy"][k] for k in ("version", "enabled", "requiredApprovals", "ttlHours")} == {
        "version": 0,
        "enabled": True,
        "requiredApprovals": 1,
        "ttlHours": 72,
    }
    assert promotion["policy"]["reviewerRole"] == "checker"
    assert types["update_policy"]["makerRole"] == "admin"
    assert types["update_policy"]["policy"]["reviewerRole"] == "admin"


async def test_unknown_action_type_is_404(client, maker):
    response = await client.get(f"{TYPES}/transfer_everything", headers=maker.headers)
    assert response.status_code == 404
    assert response.json()["success"] is False


async def test_action_types_need_authentication(client):
    assert (await client.get(TYPES)).status_code == 401


async def test_openapi_documents_the_new_routes(client, maker):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "get" in schema["paths"]["/api/workflow/action-types"]
    assert "get" in schema["paths"]["/api/workflow/action-types/{name}"]
    detail = schema["paths"]["/api/workflow/actions/{action_id}"]["get"]
    assert "ActionDetailEnvelope" in str(detail["responses"]["200"])
    components = schema["components"]["schemas"]
    assert {"approvedBy", "mayStillApprove", "policy"} <= set(components["ActionDetailOut"]["properties"])
    assert "policyVersion" in components["ActionOut"]["properties"]


# --- changes under dual control -----------------------------------------------------------------


async def test_an_admin_changes_a_policy_and_another_admin_approves_it(client, db):
    first, second = await make_actor(db, "admin"), await make_actor(db, "admin")
    for _ in range(3):
        await make_actor(db, "checker")
    change = await submit(
        client, first, "update_policy", policy_change("create_promotion", requiredApprovals=2, ttlHours=24)
    )
    assert change["status"] == "pending"
    assert "Policy of Create promotion: 2 approvals by checker, 24 h to live" in change["summary"]

    detail = (await client.get(f"{TYPES}/create_promotion", headers=first.headers)).json()["data"]
    assert [item["id"] for item in detail["pendingChanges"]] == [change["id"]]
    assert detail["policy"]["version"] == 0

    own = await review(client, first, change["id"])
    assert own.status_code == 403
    approved = await review(client, second, change["id"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["executionResult"]["version"] == 1

    detail = (await client.get(f"{TYPES}/create_promotion", headers=first.headers)).json()["data"]
    assert detail["pendingChanges"] == []
    assert [p["version"] for p in detail["history"]] == [1, 0]
    current = detail["policy"]
    assert (current["requiredApprovals"], current["ttlHours"], current["reviewerRole"]) == (2, 24, "checker")
    assert current["createdBy"] == first.id
    assert current["approvedBy"] == second.id
    assert current["actionId"] == change["id"]


async def test_only_admins_make_policy_changes(client, db, maker):
    checker = await make_actor(db, "checker", "maker")
    for actor in (maker, checker):
        response = await client.post(
            ACTIONS,
            json={"actionType": "update_policy", "payload": policy_change("create_user", ttlHours=5)},
            headers=actor.headers,
        )
        assert response.status_code == 403
        assert response.json()["error"] == "Submitting update_policy needs the admin role"


async def test_only_admins_approve_policy_changes(client, db):
    admin = await make_actor(db, "admin")
    checker = await make_actor(db, "checker")
    change = await submit(client, admin, "update_policy", policy_change("create_user", ttlHours=5))
    response = await review(client, checker, change["id"])
    assert response.status_code == 403
    assert response.json()["error"] == "Reviewing an action needs the admin role"
    assert (await fetch(client, admin, change["id"]))["status"] == "pending"


async def test_a_change_no_quorum_could_meet_is_refused_at_submission(client, db):
    admin = await make_actor(db, "admin")
    await make_actor(db, "checker")
    response = await client.post(
        ACTIONS,
        json={"actionType": "update_policy", "payload": policy_change("create_user", requiredApprovals=2)},
        headers=admin.headers,
    )
    assert response.status_code == 400
    details = {d["field"]: d["message"] for d in response.json()["details"]}
    assert "2 approvals by checker could never be given" in details["requiredApprovals"]


async def test_a_change_no_quorum_could_meet_any_more_is_refused_at_approval(client, db):
    first, second = await make_actor(db, "admin"), await make_actor(db, "admin")
    checkers = [await make_actor(db, "checker") for _ in range(2)]
    change = await submit(client, first, "update_policy", policy_change("create_user", requiredApprovals=2))
    async with db.sessions() as session, session.begin():
        (await session.get(User, checkers[0].user.id)).is_active = False

    response = await review(client, second, change["id"])

    assert response.status_code == 409
    assert "could never be given" in response.json()["error"]
    stored = await fetch(client, first, change["id"])
    assert stored["status"] == "pending"
    detail = (await client.get(f"{TYPES}/create_user", headers=first.headers)).json()["data"]
    assert detail["policy"]["version"] == 0


# --- pinning and disabled types -------------------------------------------------------------------


async def test_a_pending_action_keeps_the_policy_it_was_submitted_under(client, db, maker, checker):
    before = await submit(client, maker, "create_promotion", promotion_payload())
    assert (before["policyVersion"], before["requiredApprovals"]) == (0, 1)
    await make_actor(db, "checker")
    await set_policy(db, "create_promotion", required_approvals=2)

    after = await submit(client, maker, "create_promotion", promotion_payload())

    assert (after["policyVersion"], after["requiredApprovals"]) == (1, 2)
    assert (await review(client, checker, before["id"])).json()["data"]["action"]["status"] == "approved"
    assert (await review(client, checker, after["id"])).json()["data"]["action"]["status"] == "pending"
    assert (await fetch(client, maker, after["id"]))["policy"]["requiredApprovals"] == 2


async def test_a_disabled_type_refuses_submissions(client, db, maker, checker):
    pending = await submit(client, maker, "create_promotion", promotion_payload())
    await set_policy(db, "create_promotion", enabled=False)

    response = await client.post(
        ACTIONS,
        json={"actionType": "create_promotion", "payload": promotion_payload()},
        headers=maker.headers,
    )

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "Create promotion is disabled by its policy: no new requests of this type are taken",
    }
    # what was pending before stays reviewable; other types are unaffected
    assert (await review(client, checker, pending["id"])).status_code == 200
    await submit(client, maker, "create_user", user_payload())


async def test_the_pinned_reviewer_role_decides_who_reviews(client, db, maker, checker):
    admin_checker = await make_actor(db, "admin")
    await set_policy(db, "create_promotion", reviewer_role="admin")
    action = await submit(client, maker, "create_promotion", promotion_payload())
    refused = await review(client, checker, action["id"])
    assert refused.status_code == 403
    assert refused.json()["error"] == "Reviewing an action needs the admin role"
    assert (await review(client, admin_checker, action["id"])).status_code == 200


# --- N of M ---------------------------------------------------------------------------------------


async def test_two_of_m_executes_on_the_second_distinct_approval(client, db, maker):
    first, second, third = [await make_actor(db, "checker") for _ in range(3)]
    await set_policy(db, "create_promotion", required_approvals=2)
    action = await submit(client, maker, "create_promotion", promotion_payload())

    detail = await fetch(client, maker, action["id"])
    assert detail["approvedBy"] == []
    assert {p["userId"] for p in detail["mayStillApprove"]} == {first.id, second.id, third.id}

    one = await review(client, first, action["id"], comment="fine by me")
    assert one.status_code == 200
    assert one.json()["message"] == "Approval recorded; more approvals are needed"
    assert one.json()["data"]["action"]["approvals"] == 1
    assert await promotions(db) == 0
    again = await review(client, first, action["id"])
    assert again.status_code == 409
    assert again.json()["error"] == "You have already reviewed this action"

    detail = await fetch(client, maker, action["id"])
    assert (detail["status"], detail["approvals"], detail["requiredApprovals"]) == ("pending", 1, 2)
    assert [a["username"] for a in detail["approvedBy"]] == [first.user.username]
    assert {p["userId"] for p in detail["mayStillApprove"]} == {second.id, third.id}

    two = await review(client, second, action["id"])
    assert two.json()["message"] == "Action approved and executed"
    assert await promotions(db) == 1
    detail = await fetch(client, maker, action["id"])
    assert (detail["status"], detail["approvals"]) == ("approved", 2)
    assert [a["userId"] for a in detail["approvedBy"]] == [first.id, second.id]
    assert detail["mayStillApprove"] == []


async def test_any_rejection_rejects_after_approvals(client, db, maker):
    first, second = await make_actor(db, "checker"), await make_actor(db, "checker")
    await set_policy(db, "create_promotion", required_approvals=2)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, first, action["id"])).status_code == 200
    rejected = await review(client, second, action["id"], "rejected", "not this quarter")
    assert rejected.json()["data"]["action"]["status"] == "rejected"
    assert await promotions(db) == 0


async def test_may_still_approve_leaves_out_the_maker_inactive_users_and_other_roles(client, db):
    both = await make_actor(db, "maker", "checker")
    other = await make_actor(db, "checker")
    gone = await make_actor(db, "checker")
    await make_actor(db, "maker")
    async with db.sessions() as session, session.begin():
        (await session.get(User, gone.user.id)).is_active = False
    action = await submit(client, both, "create_user", user_payload())
    detail = await fetch(client, both, action["id"])
    assert detail["mayStillApprove"] == [{"userId": other.id, "username": other.user.username}]
