import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import func, select, update

from app.actions import REGISTRY
from app.models import ActionReview, ApiToken, User, WorkflowAction, utcnow
from tests.factories import account_payload, make_actor, promotion_payload, review, submit, user_payload

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"
ACTION_FIELDS = {
    "id",
    "actionType",
    "status",
    "payload",
    "makerId",
    "checkerId",
    "reviewComment",
    "reviewedAt",
    "createdAt",
    "updatedAt",
    "requiredApprovals",
    "approvals",
    "executionResult",
    "error",
}


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment


async def count_actions(db) -> int:
    async with db.sessions() as session:
        return (await session.exec(select(func.count()).select_from(WorkflowAction))).one()


DETAIL_ONLY = {"approvedBy", "mayStillApprove", "policy", "versions", "stale"}
"""What GET /actions/{id} adds to an action (tests/api/test_policies_api.py covers them)."""


async def fetch(client, actor, action_id: str) -> dict:
    """The action as the list and the submission show it (without the detail's extras)."""
    response = await client.get(f"{ACTIONS}/{action_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json()["data"].items() if k not in DETAIL_ONLY}


# --- submit ---------------------------------------------------------------------------------------


async def test_submit_answers_201_with_the_pending_action(client, maker):
    started = utcnow()
    response = await client.post(
        ACTIONS,
        json={
            "actionType": "create_user",
            "payload": user_payload(username="Newbie", email="NEW@Example.com"),
        },
        headers=maker.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Action submitted for review"
    action = body["data"]
    assert set(action) >= ACTION_FIELDS
    uuid.UUID(action["id"])
    assert action["actionType"] == "create_user"
    assert action["status"] == "pending"
    assert action["payload"] == {
        "email": "new@example.com",
        "username": "newbie",
        "fullName": "New User",
        "roles": ["maker"],
    }
    assert action["makerId"] == maker.id
    assert action["checkerId"] is None
    assert action["reviewComment"] is None
    assert action["reviewedAt"] is None
    assert action["requiredApprovals"] == 1
    assert action["approvals"] == 0
    assert action["executionResult"] is None
    assert action["error"] is None
    assert action["summary"] == "Create user newbie (New User, new@example.com) as maker"
    assert started - timedelta(seconds=5) < parse_time(action["createdAt"]) < utcnow() + timedelta(seconds=5)
    assert parse_time(action["updatedAt"]) >= parse_time(action["createdAt"])


async def test_submit_changes_nothing_but_the_action(client, db, maker):
    await submit(client, maker, "create_user", user_payload(username="notyet"))
    async with db.sessions() as session:
        assert (await session.exec(select(User).where(User.username == "notyet"))).first() is None
    assert await count_actions(db) == 1


async def test_submit_accepts_the_callers_own_maker_id(client, maker):
    response = await client.post(
        ACTIONS,
        json={"actionType": "create_promotion", "payload": promotion_payload(), "makerId": maker.id},
        headers=maker.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["makerId"] == maker.id


async def test_submit_naming_another_maker_is_403(client, db, maker, checker):
    response = await client.post(
        ACTIONS,
        json={"actionType": "create_user", "payload": user_payload(), "makerId": checker.id},
        headers=maker.headers,
    )
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "makerId must be your own id: identity comes from authentication",
    }
    assert await count_actions(db) == 0


async def test_submit_without_the_maker_role_is_403(client, db, checker):
    response = await client.post(
        ACTIONS, json={"actionType": "create_user", "payload": user_payload()}, headers=checker.headers
    )
    assert response.status_code == 403
    assert response.json() == {"success": False, "error": "Submitting an action needs the maker role"}
    assert await count_actions(db) == 0


@pytest.mark.parametrize("content", [b"{not json", b'{"actionType": "create_user",', b"\xff\xfe"])
async def test_submit_malformed_json_is_400(client, db, maker, content):
    response = await client.post(
        ACTIONS, content=content, headers={**maker.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"]
    assert await count_actions(db) == 0


@pytest.mark.parametrize("depth", [900, 5000])
async def test_submit_deeply_nested_json_is_400(client, db, maker, depth):
    content = b'{"actionType": "create_user", "payload": {"fullName": ' + b"[" * depth + b"]" * depth + b"}}"
    response = await client.post(
        ACTIONS, content=content, headers={**maker.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"] in {"The payload is not valid", "The request body is nested too deeply"}
    assert await count_actions(db) == 0


async def test_review_deeply_nested_json_is_400(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    content = b'{"status": "rejected", "reviewComment": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await client.post(
        f"{ACTIONS}/{action['id']}/review",
        content=content,
        headers={**checker.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The request body is nested too deeply",
        "details": [{"field": "body", "message": "The request body is nested too deeply"}],
    }
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


async def test_submit_a_form_encoded_body_is_400(client, db, maker):
    response = await client.post(ACTIONS, data={"actionType": "create_user"}, headers=maker.headers)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert await count_actions(db) == 0


async def test_submit_without_a_body_is_400(client, maker):
    response = await client.post(ACTIONS, headers=maker.headers)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The request is not valid",
        "details": [{"field": "body", "message": "A JSON body is required"}],
    }


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"actionType": 5, "payload": "x"}, {"actionType", "payload"}),
        ({"actionType": "create_user", "payload": [1, 2]}, {"payload"}),
        ({"actionType": "create_user", "payload": None}, {"payload"}),
        ({}, {"actionType", "payload"}),
        ({"actionType": "", "payload": {}}, {"actionType"}),
        ({"actionType": "create_user", "payload": {}, "extra": 1}, {"extra"}),
        ({"actionType": "create_user", "payload": {}, "makerId": "me"}, {"makerId"}),
        ([1, 2, 3], {"body"}),
    ],
)
async def test_submit_with_wrong_shapes_is_400_with_details(client, db, maker, body, fields):
    response = await client.post(ACTIONS, json=body, headers=maker.headers)
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False
    assert answer["error"] == "The request is not valid"
    assert {detail["field"] for detail in answer["details"]} == fields
    assert all(detail["message"] for detail in answer["details"])
    assert await count_actions(db) == 0


async def test_submit_unknown_action_type_is_400(client, maker):
    response = await client.post(
        ACTIONS, json={"actionType": "transfer_all", "payload": {}}, headers=maker.headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Unknown action type",
        "details": [{"field": "actionType", "message": "No action type is named 'transfer_all'"}],
    }


async def test_submit_invalid_payload_is_400_with_one_detail_per_field(client, db, maker):
    response = await client.post(
        ACTIONS,
        json={
            "actionType": "create_account",
            "payload": {
                "userId": maker.id,
                "accountNumber": "x",
                "balance": "-3",
                "currency": "eu",
                "pin": 1,
            },
        },
        headers=maker.headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "The payload is not valid"
    assert body["details"] == [
        {"field": "accountNumber", "message": "Use 6 to 34 capital letters or digits"},
        {"field": "accountType", "message": "Required"},
        {"field": "balance", "message": "Must not be negative"},
        {"field": "currency", "message": "Use a 3-letter ISO code in capitals, such as EUR"},
        {"field": "pin", "message": "Unknown field"},
    ]
    assert await count_actions(db) == 0


@pytest.mark.parametrize(
    ("action_type", "payload", "field"),
    [
        ("create_user", user_payload(fullName="nul\x00byte"), "fullName"),
        ("create_user", user_payload(email="nul\x00@example.com"), "email"),
        ("create_promotion", promotion_payload(description="a\x00b"), "description"),
        (
            "create_promotion",
            promotion_payload(discountType="fixed", discountValue="99999999999999"),
            "discountValue",
        ),
    ],
)
async def test_submit_values_the_database_cannot_hold_are_400_not_500(
    client, db, maker, action_type, payload, field
):
    response = await client.post(
        ACTIONS, json={"actionType": action_type, "payload": payload}, headers=maker.headers
    )
    assert response.status_code == 400, response.text
    assert [detail["field"] for detail in response.json()["details"]] == [field]
    assert await count_actions(db) == 0


# --- authentication ---------------------------------------------------------------------------------

SOME_ID = "3f2c6f8e-5d1a-4b7e-9c0d-2a1b3c4d5e6f"
ENDPOINTS = [
    ("GET", ACTIONS),
    ("POST", ACTIONS),
    ("GET", f"{ACTIONS}/{SOME_ID}"),
    ("POST", f"{ACTIONS}/{SOME_ID}/review"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_no_token_is_401(client, db, method, path):
    response = await client.request(method, path, json={"actionType": "create_user", "payload": {}})
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Not authenticated"}
    assert await count_actions(db) == 0


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_unknown_token_is_401(client, method, path):
    response = await client.request(
        method, path, json={"status": "approved"}, headers={"Authorization": "Bearer mc_not-a-real-token"}
    )
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Invalid or revoked API token"}


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc", "abc", ""])
async def test_malformed_authorization_header_is_401(client, maker, header):
    response = await client.get(ACTIONS, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error"]


async def test_a_valid_token_is_not_accepted_under_another_scheme(client, maker):
    response = await client.get(ACTIONS, headers={"Authorization": f"Basic {maker.token}"})
    assert response.status_code == 401


async def test_bearer_scheme_is_case_insensitive(client, maker):
    response = await client.get(ACTIONS, headers={"Authorization": f"bearer {maker.token}"})
    assert response.status_code == 200


async def test_revoked_token_is_401(client, db, maker):
    async with db.sessions() as session, session.begin():
        await session.exec(
            update(ApiToken).where(ApiToken.user_id == maker.user.id).values(revoked_at=utcnow())
        )
    response = await client.get(ACTIONS, headers=maker.headers)
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Invalid or revoked API token"}


async def test_token_of_a_disabled_user_is_401(client, db, maker):
    async with db.sessions() as session, session.begin():
        await session.exec(update(User).where(User.id == maker.user.id).values(is_active=False))
    response = await client.post(
        ACTIONS, json={"actionType": "create_user", "payload": user_payload()}, headers=maker.headers
    )
    assert response.status_code == 401
    assert await count_actions(db) == 0


# --- list ----------------------------------------------------------------------------------------


async def test_list_empty(client, maker):
    response = await client.get(ACTIONS, headers=maker.headers)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": [],
        "pagination": {"page": 1, "limit": 20, "total": 0, "totalPages": 0, "nextCursor": None},
    }


async def test_list_newest_first_with_the_action_shape(client, maker):
    first = await submit(client, maker, "create_user", user_payload())
    second = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.get(ACTIONS, headers=maker.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [action["id"] for action in body["data"]] == [second["id"], first["id"]]
    assert all(set(action) >= ACTION_FIELDS for action in body["data"])
    assert body["data"][0] == second
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 2, "totalPages": 1, "nextCursor": None}


async def test_list_filters_by_status_type_and_maker(client, db, maker, checker):
    other_maker = await make_actor(db, "maker")
    user_action = await submit(client, maker, "create_user", user_payload())
    promo_action = await submit(client, maker, "create_promotion", promotion_payload())
    rejected = await submit(client, other_maker, "create_promotion", promotion_payload())
    assert (await review(client, checker, rejected["id"], "rejected", "no")).status_code == 200

    async def ids(query: str) -> set[str]:
        response = await client.get(f"{ACTIONS}?{query}", headers=checker.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pagination"]["total"] == len(body["data"])
        return {action["id"] for action in body["data"]}

    assert await ids("status=pending") == {user_action["id"], promo_action["id"]}
    assert await ids("status=rejected") == {rejected["id"]}
    assert await ids("status=approved") == set()
    assert await ids("actionType=create_promotion") == {promo_action["id"], rejected["id"]}
    assert await ids("actionType=create_promotion&status=pending") == {promo_action["id"]}
    assert await ids(f"makerId={other_maker.id}") == {rejected["id"]}
    assert await ids("status=&actionType=") == {user_action["id"], promo_action["id"], rejected["id"]}


async def test_list_paginates_with_total_and_total_pages(client, maker):
    created = [await submit(client, maker, "create_promotion", promotion_payload()) for _ in range(5)]
    newest_first = [action["id"] for action in reversed(created)]
    seen = []
    for page, size in ((1, 2), (2, 2), (3, 1)):
        response = await client.get(f"{ACTIONS}?page={page}&limit=2", headers=maker.headers)
        assert response.status_code == 200
        body = response.json()
        pagination = body["pagination"]
        assert pagination | {"nextCursor": None} == {
            "page": page,
            "limit": 2,
            "total": 5,
            "totalPages": 3,
            "nextCursor": None,
        }
        assert (pagination["nextCursor"] is None) == (page == 3)
        assert len(body["data"]) == size
        seen += [action["id"] for action in body["data"]]
    assert seen == newest_first
    beyond = (await client.get(f"{ACTIONS}?page=4&limit=2", headers=maker.headers)).json()
    assert beyond["data"] == []
    assert beyond["pagination"] == {"page": 4, "limit": 2, "total": 5, "totalPages": 3, "nextCursor": None}
    whole = (await client.get(f"{ACTIONS}?limit=100", headers=maker.headers)).json()
    assert whole["pagination"] == {"page": 1, "limit": 100, "total": 5, "totalPages": 1, "nextCursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=done", "status"),
        ("status=PENDING", "status"),
        ("actionType=transfer_all", "actionType"),
        ("makerId=not-a-uuid", "makerId"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=1000001", "page"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
    ],
)
async def test_list_bad_filters_are_400(client, maker, query, field):
    response = await client.get(f"{ACTIONS}?{query}", headers=maker.headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]
    assert [detail["field"] for detail in body["details"]] == [field]


async def test_list_reports_every_bad_filter_at_once(client, maker):
    response = await client.get(f"{ACTIONS}?status=x&actionType=y&makerId=z", headers=maker.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "The filters are not valid"
    assert [detail["field"] for detail in body["details"]] == ["status", "actionType", "makerId"]


# --- get -----------------------------------------------------------------------------------------


async def test_get_one_action(client, maker, checker):
    action = await submit(client, maker, "create_account", account_payload(maker.id))
    response = await client.get(f"{ACTIONS}/{action['id']}", headers=checker.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    # the action as submitted, and what only the detail shows: approvals so far, who may approve
    assert {key: body["data"][key] for key in action} == action
    assert set(body["data"]) - set(action) == DETAIL_ONLY
    assert set(body["data"]) >= ACTION_FIELDS


async def test_get_accepts_an_upper_case_id(client, maker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.get(f"{ACTIONS}/{action['id'].upper()}", headers=maker.headers)
    assert response.status_code == 200
    assert response.json()["data"]["id"] == action["id"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_actions_cannot_be_changed_outside_the_workflow(client, maker, method):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.request(method, f"{ACTIONS}/{action['id']}", json={}, headers=maker.headers)
    assert response.status_code == 405
    assert response.json() == {"success": False, "error": "Method Not Allowed"}
    assert await fetch(client, maker, action["id"]) == action


async def test_get_unknown_action_is_404(client, maker):
    response = await client.get(f"{ACTIONS}/{uuid.uuid4()}", headers=maker.headers)
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "No action has this id"}


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "0" * 33])
async def test_get_with_a_bad_id_is_400(client, maker, bad_id):
    response = await client.get(f"{ACTIONS}/{bad_id}", headers=maker.headers)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The action id is not valid",
        "details": [{"field": "id", "message": "Expected a UUID"}],
    }


async def test_reading_changes_nothing(client, maker):
    action = await submit(client, maker, "create_user", user_payload())
    for _ in range(2):
        assert await fetch(client, maker, action["id"]) == action
        assert (await client.get(ACTIONS, headers=maker.headers)).json()["data"] == [action]


# --- review --------------------------------------------------------------------------------------


async def test_approve_answers_the_approved_action_and_its_result(client, db, maker, checker):
    action = await submit(client, maker, "create_user", user_payload(username="approved-one"))
    response = await review(client, checker, action["id"], "approved", "  looks right  ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Action approved and executed"
    approved = body["data"]["action"]
    assert set(approved) >= ACTION_FIELDS
    assert approved["id"] == action["id"]
    assert approved["status"] == "approved"
    assert approved["checkerId"] == checker.id
    assert approved["reviewComment"] == "looks right"
    assert approved["approvals"] == 1
    assert approved["error"] is None
    assert parse_time(approved["reviewedAt"]) >= parse_time(action["createdAt"])
    result = body["data"]["executionResult"]
    assert approved["executionResult"] == result
    assert result["username"] == "approved-one"
    assert "activationUrl" not in result  # the link goes to the new user alone, by mail
    stored = await fetch(client, maker, action["id"])
    assert stored["status"] == "approved"
    assert stored["executionResult"] == approved["executionResult"]
    async with db.sessions() as session:
        reviews = (await session.exec(select(ActionReview))).all()
    assert [(r.reviewer_id, r.decision, r.comment) for r in reviews] == [
        (checker.user.id, "approved", "looks right")
    ]


async def test_approve_with_the_callers_own_checker_id(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.post(
        f"{ACTIONS}/{action['id']}/review",
        json={"status": "approved", "checkerId": checker.id},
        headers=checker.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["checkerId"] == checker.id


async def test_reject_with_a_comment(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await review(client, checker, action["id"], "rejected", "Wrong dates")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Action rejected"
    rejected = body["data"]["action"]
    assert rejected["status"] == "rejected"
    assert rejected["checkerId"] == checker.id
    assert rejected["reviewComment"] == "Wrong dates"
    assert rejected["reviewedAt"] is not None
    assert rejected["approvals"] == 0
    assert rejected["executionResult"] is None
    assert body["data"]["executionResult"] is None
    assert (await fetch(client, maker, action["id"]))["status"] == "rejected"


@pytest.mark.parametrize("comment", [None, "", "   "])
async def test_reject_without_a_comment_is_400(client, db, maker, checker, comment):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await review(client, checker, action["id"], "rejected", comment)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "A comment is required to reject",
        "details": [{"field": "reviewComment", "message": "Say why you reject"}],
    }
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"status": "pending"}, "status"),
        ({}, "status"),
        ({"status": "approved", "reviewComment": 5}, "reviewComment"),
        ({"status": "approved", "reviewComment": "x" * 2001}, "reviewComment"),
        ({"status": "rejected", "reviewComment": "nul\x00"}, "reviewComment"),
        ({"status": "approved", "checkerId": "me"}, "checkerId"),
        ({"status": "approved", "extra": True}, "extra"),
    ],
)
async def test_review_with_a_bad_body_is_400(client, maker, checker, body, field):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.post(f"{ACTIONS}/{action['id']}/review", json=body, headers=checker.headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["success"] is False
    assert [detail["field"] for detail in answer["details"]] == [field]
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


async def test_review_with_malformed_json_is_400(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    response = await client.post(
        f"{ACTIONS}/{action['id']}/review",
        content=b'{"status": ',
        headers={**checker.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


async def test_review_with_a_bad_id_is_400(client, checker):
    response = await review(client, checker, "not-a-uuid")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The action id is not valid",
        "details": [{"field": "id", "message": "Expected a UUID"}],
    }


async def test_review_of_an_unknown_action_is_404(client, checker):
    response = await review(client, checker, str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "No action has this id"}


async def test_maker_cannot_review_their_own_action_even_as_a_checker(client, db):
    both = await make_actor(db, "maker", "checker")
    action = await submit(client, both, "create_user", user_payload())
    for status, comment in (("approved", None), ("rejected", "mine")):
        response = await review(client, both, action["id"], status, comment)
        assert response.status_code == 403
        assert response.json() == {"success": False, "error": "You cannot review an action you made"}
    stored = await fetch(client, both, action["id"])
    assert stored["status"] == "pending"
    assert stored["approvals"] == 0


async def test_review_without_the_checker_role_is_403(client, db, maker):
    other_maker = await make_actor(db, "maker", "admin")
    action = await submit(client, maker, "create_user", user_payload())
    response = await review(client, other_maker, action["id"])
    assert response.status_code == 403
    assert response.json() == {"success": False, "error": "Reviewing an action needs the checker role"}
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


async def test_review_naming_another_checker_is_403(client, db, maker, checker):
    other_checker = await make_actor(db, "checker")
    action = await submit(client, maker, "create_user", user_payload())
    response = await client.post(
        f"{ACTIONS}/{action['id']}/review",
        json={"status": "approved", "checkerId": other_checker.id},
        headers=checker.headers,
    )
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "checkerId must be your own id: identity comes from authentication",
    }
    assert (await fetch(client, maker, action["id"]))["status"] == "pending"


@pytest.mark.parametrize("first", ["approved", "rejected"])
@pytest.mark.parametrize("second", ["approved", "rejected"])
async def test_review_of_a_decided_action_is_409(client, db, maker, checker, first, second):
    late_checker = await make_actor(db, "checker")
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, checker, action["id"], first, "first")).status_code == 200
    response = await review(client, late_checker, action["id"], second, "second")
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": f"The action is not pending any more: it is {first}",
    }
    stored = await fetch(client, maker, action["id"])
    assert stored["status"] == first
    assert stored["checkerId"] == checker.id
    assert stored["reviewComment"] == "first"
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(ActionReview))).one() == 1


async def test_the_same_checker_reviewing_again_is_409(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, checker, action["id"])).status_code == 200
    response = await review(client, checker, action["id"])
    assert response.status_code == 409
    assert response.json()["success"] is False


# --- system --------------------------------------------------------------------------------------


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "timestamp"}
    assert body["status"] == "ok"
    assert abs(parse_time(body["timestamp"]) - utcnow()) < timedelta(minutes=1)


async def test_openapi_schema_is_served_without_authentication(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/workflow/actions", "/api/workflow/actions/{action_id}", "/health"} <= set(schema["paths"])
    assert "/api/workflow/actions/{action_id}/review" in schema["paths"]
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


async def test_unknown_route_is_404_in_the_envelope(client, maker):
    response = await client.get("/api/workflow/nothing-here", headers=maker.headers)
    assert response.status_code == 404
    assert response.json()["success"] is False


async def test_the_openapi_description_shows_a_sample_request_of_every_type(client):
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/api/workflow/actions"]["post"]["requestBody"]["content"]["application/json"]
    examples = body["schema"]["examples"]
    for name, kind in REGISTRY.items():
        assert {"actionType": name, "payload": kind.sample} in examples
