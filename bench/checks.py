"""End-of-run checks: every approval executed exactly once (by SQL), and the audit chain verifies."""

import subprocess
from dataclasses import dataclass

import asyncpg

# each query returns one number; the check passes when it equals `expected` (None: the approvals counted)
_QUERIES = {
    "approved create_promotion actions": (
        "SELECT count(*) FROM workflow_actions WHERE action_type = 'create_promotion' AND status = 'approved'"
    ),
    "promotions created": "SELECT count(*) FROM promotions",
    "promotions named by exactly one approved action": (
        "SELECT count(*) FROM promotions p JOIN (SELECT execution_result->>'promotionId' AS id, "
        "count(*) AS n FROM workflow_actions WHERE status = 'approved' GROUP BY 1) a "
        "ON a.id = p.id::text WHERE a.n = 1"
    ),
    "duplicate promotion codes": "SELECT count(*) - count(DISTINCT code) FROM promotions",
    "approved actions without exactly one approving review": (
        "SELECT count(*) FROM workflow_actions a WHERE a.status = 'approved' AND (SELECT count(*) "
        "FROM action_reviews r WHERE r.action_id = a.id AND r.decision = 'approved') <> 1"
    ),
    "approved actions without exactly one action_approved event": (
        "SELECT count(*) FROM workflow_actions a WHERE a.status = 'approved' AND (SELECT count(*) "
        "FROM audit_events e WHERE e.action_id = a.id AND e.event_type = 'action_approved') <> 1"
    ),
    "refused executions": "SELECT count(*) FROM audit_events WHERE event_type = 'execution_failed'",
}
_EXPECTED_ZERO = (
    "duplicate promotion codes",
    "approved actions without exactly one approving review",
    "approved actions without exactly one action_approved event",
    "refused executions",
)


@dataclass(frozen=True)
class Check:
    name: str
    value: int | str
    expected: int | str

    @property
    def ok(self) -> bool:
        return self.value == self.expected


async def sql_checks(url: str, approvals_answered: int) -> list[Check]:
    """`approvals_answered`: approvals answered 200 by the server; each must have executed once."""
    conn = await asyncpg.connect(url)
    try:
        found = {name: await conn.fetchval(query) for name, query in _QUERIES.items()}
    finally:
        await conn.close()
    expected = dict.fromkeys(_EXPECTED_ZERO, 0) | {
        "approved create_promotion actions": approvals_answered,
        "promotions created": approvals_answered,
        "promotions named by exactly one approved action": approvals_answered,
    }
    return [Check(name, found[name], expected[name]) for name in _QUERIES]


def verify_audit(env: dict[str, str], script: str) -> Check:
    result = subprocess.run([script, "verify-audit"], env=env, capture_output=True, text=True, timeout=600)
    said = (result.stdout + result.stderr).strip().splitlines()
    return Check(f"verify-audit exit code ({said[-1] if said else 'no output'})", result.returncode, 0)
