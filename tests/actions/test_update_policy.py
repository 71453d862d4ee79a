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
