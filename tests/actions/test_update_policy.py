"""update_policy: the payload's rules, and its checks against current data (runs at submission and
at approval)."""

import pytest

from app.actions import REGISTRY
from app.models import User
from tests.factories import field_errors, make_actor, policy_change, set_policy

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["update_policy"]


def test_made_by_admins_and_reviewed_by_admins():
    assert ACTION.maker_role == "admin"
    assert ACTION.default_reviewer_role == "admin"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"requiredApprovals": 0}, "requiredApprovals"),
        ({"requiredApprovals": 6}, "requiredApprovals"),
        ({"ttlHours": 0}, "ttlHours"),
        ({"reviewerRole": "maker"}, "reviewerRole"),
        ({"targetType": "transfer_everything"}, "targetType"),
        ({"baseVersion": -1}, "baseVersion"),
    ],
)
def test_out_of_range_settings_are_refused(overrides, field):
    assert field in field_errors(ACTION, policy_change("create_user") | overrides)


async def _conflicts(db, payload):
    async with db.sessions() as session:
        return await ACTION.check_current_data(session, ACTION.parse(payload))


async def test_a_change_needs_enough_reviewers_other_than_the_maker(db):
    await make_actor(db, "checker")
    await make_actor(db, "maker", "checker")
    # two checkers, one of whom may make the request: one approval can always be given, two cannot
    assert await _conflicts(db, policy_change("create_user", ttlHours=24)) == {}
    conflicts = await _conflicts(db, policy_change("create_user", requiredApprovals=2))
    assert "requiredApprovals" in conflicts
    assert "2 approvals by checker could never be given" in conflicts["requiredApprovals"]


async def test_inactive_reviewers_do_not_count(db):
    first, _ = await make_actor(db, "checker"), await make_actor(db, "checker")
    assert await _conflicts(db, policy_change("create_user", requiredApprovals=2)) == {}
    async with db.sessions() as session, session.begin():
        user = await session.get(User, first.user.id)
        user.is_active = False
    assert "requiredApprovals" in await _conflicts(db, policy_change("create_user", requiredApprovals=2))


async def test_a_change_against_an_old_version_is_refused(db):
    await make_actor(db, "checker")
    await set_policy(db, "create_user", ttl_hours=10)
    conflicts = await _conflicts(db, policy_change("create_user", base_version=0, ttlHours=20))
    assert conflicts == {"baseVersion": "The policy changed since: it is at version 1 now"}
    assert await _conflicts(db, policy_change("create_user", base_version=1, ttlHours=20)) == {}


async def test_the_policy_in_force_is_no_change(db):
    await make_actor(db, "checker")
    assert "targetType" in await _conflicts(db, policy_change("create_user"))


async def test_policy_changes_stay_enabled_and_reviewed_by_admins(db):
    admins = [await make_actor(db, "admin") for _ in range(3)]
    assert admins
    base = policy_change("update_policy", reviewerRole="admin")
    assert "enabled" in await _conflicts(db, base | {"enabled": False})
    assert "reviewerRole" in await _conflicts(db, base | {"reviewerRole": "checker", "ttlHours": 5})
    assert await _conflicts(db, base | {"requiredApprovals": 2}) == {}


# --- step-up and large amounts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"largeAmountApprovals": 0, "largeAmount": "100"}, "largeAmountApprovals", None),
        ({"largeAmountApprovals": 6, "largeAmount": "100"}, "largeAmountApprovals", None),
        ({"largeAmount": "0", "largeAmountApprovals": 2}, "largeAmount", "Must be more than 0"),
        ({"largeAmount": "-1", "largeAmountApprovals": 2}, "largeAmount", "Must not be negative"),
        ({"largeAmount": "1.001", "largeAmountApprovals": 2}, "largeAmount", None),
        (
            {"largeAmount": "10000"},
            "largeAmountApprovals",
            "Give the approvals needed above the large amount too",
        ),
        (
            {"largeAmountApprovals": 2},
            "largeAmountApprovals",
            "Give the large amount too: these approvals are needed above it",
        ),
        ({"stepUp": "perhaps"}, "stepUp", None),
    ],
)
def test_large_amount_settings_are_checked(overrides, field, message):
    errors = field_errors(ACTION, policy_change("transfer_funds") | overrides)
    assert field in errors, errors
    if message is not None:
        assert errors[field] == message


def test_the_new_settings_are_optional_and_parsed():
    payload = ACTION.parse(
        policy_change("transfer_funds", largeAmount="10000", largeAmountApprovals=2, stepUp=False)
    )
    assert (str(payload.large_amount), payload.large_amount_approvals, payload.step_up) == (
        "10000.00",
        2,
        False,
    )
    plain = ACTION.parse(policy_change("transfer_funds"))
    assert (plain.large_amount, plain.large_amount_approvals, plain.step_up) == (None, None, None)


async def test_quorum_counts_the_large_amount_approvals(db):
    await make_actor(db, "checker")
    conflicts = await _conflicts(
        db, policy_change("transfer_funds", largeAmount="10000", largeAmountApprovals=2)
    )
    assert "2 approvals by checker could never be given" in conflicts["requiredApprovals"]
    await make_actor(db, "checker")
    assert (
        await _conflicts(db, policy_change("transfer_funds", largeAmount="10000", largeAmountApprovals=2))
        == {}
    )


async def test_step_up_left_out_keeps_the_amended_versions(db):
    await make_actor(db, "checker")
    # transfers ask for a password by default: a change that does not mention it keeps it
    async with db.sessions() as session:
        summary = await ACTION.summarize(session, ACTION.parse(policy_change("transfer_funds", ttlHours=24)))
        off = await ACTION.summarize(
            session, ACTION.parse(policy_change("transfer_funds", ttlHours=24, stepUp=False))
        )
    assert summary.startswith(
        "Policy of Transfer funds: 1 approval by checker, 24 h to live, password to approve ("
    )
    assert off.startswith("Policy of Transfer funds: 1 approval by checker, 24 h to live (")
    # switching only step-up is a change; restating the defaults is not
    assert await _conflicts(db, policy_change("transfer_funds", stepUp=False)) == {}
    assert "targetType" in await _conflicts(db, policy_change("transfer_funds", stepUp=True))


async def test_an_approved_change_puts_the_new_settings_in_force(client, db):
    from app.workflow import policies
    from tests.factories import review, submit

    first, second = await make_actor(db, "admin"), await make_actor(db, "admin")
    await make_actor(db, "checker")
    await make_actor(db, "checker")
    change = await submit(
        client,
        first,
        "update_policy",
        policy_change("create_user", largeAmount="500.5", largeAmountApprovals=2, stepUp=True),
    )
    assert "2 above 500.50, password to approve" in change["summary"]
    response = await review(client, second, change["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"] | {"version": 1} == {
        "actionType": "create_user",
        "version": 1,
        "enabled": True,
        "requiredApprovals": 1,
        "ttlHours": 72,
        "reviewerRole": "checker",
        "stepUp": True,
        "largeAmount": "500.50",
        "largeAmountApprovals": 2,
    }
    async with db.sessions() as session:
        policy = await policies.current_policy(session, "create_user")
    assert (policy.step_up, str(policy.large_amount), policy.large_amount_approvals) == (True, "500.50", 2)
