"""pending unique keys: no two pending actions share a username, email, account number, promotion code
or user to re-send an activation link to

Revision ID: 5e1d7c3a9b24
Revises: 5e1d7a3c9b24
Create Date: 2026-11-26 18:10:00.000000

Two columns hold an action's keys ('username:ana', 'email:ana@example.com'; app.actions.base.UniqueKey),
each under a unique index over the pending actions only, so a decided action frees its keys by
itself. The actions pending now get theirs, computed as the types compute them (the rules are copied
here, not imported: a migration must keep meaning what it meant). When pending actions already share a
key, the oldest keeps it and the others go without (a warning names them): they were accepted before
the rule, and stay for a checker to decide.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1d7c3a9b24"
down_revision: str | None = "5e1d7a3c9b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
COLUMNS = ("unique_key_1", "unique_key_2")

_FIRST_KEY = """CASE action_type
    WHEN 'create_user' THEN 'username:' || lower(btrim(payload->>'username'))
    WHEN 'create_account' THEN 'account number:' || (payload->>'accountNumber')
    WHEN 'create_promotion' THEN 'promotion code:' || upper(btrim(payload->>'code'))
    WHEN 'resend_activation' THEN 'activation link of user:' || lower(payload->>'userId')
END"""
_SECOND_KEY = "CASE action_type WHEN 'create_user' THEN 'email:' || lower(btrim(payload->>'email')) END"

# the oldest pending action with a key keeps it; a later one with the same key goes without
_RANKED = f"""
WITH keyed AS (
    SELECT id, created_at, {_FIRST_KEY} AS k1, {_SECOND_KEY} AS k2
    FROM workflow_actions WHERE status = 'pending'
), ranked AS (
    SELECT id, k1, k2,
        row_number() OVER (PARTITION BY k1 ORDER BY created_at, id) AS n1,
        row_number() OVER (PARTITION BY k2 ORDER BY created_at, id) AS n2
    FROM keyed
)
"""
_SHARED = (
    _RANKED
    + "SELECT id, k1, n1, k2, n2 FROM ranked WHERE (k1 IS NOT NULL AND n1 > 1) OR (k2 IS NOT NULL AND n2 > 1)"
)
_BACKFILL = (
    _RANKED
    + """UPDATE workflow_actions AS action
SET unique_key_1 = CASE WHEN ranked.n1 = 1 THEN ranked.k1 END,
    unique_key_2 = CASE WHEN ranked.n2 = 1 THEN ranked.k2 END
FROM ranked
WHERE action.id = ranked.id AND (ranked.k1 IS NOT NULL OR ranked.k2 IS NOT NULL)"""
)


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("workflow_actions", sa.Column(column, sa.Text(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.text(_SHARED)):
        shared = [key for key, n in ((row.k1, row.n1), (row.k2, row.n2)) if key is not None and n > 1]
        log.warning(
            "pending action %s goes without %s: an older pending action has it", row.id, " and ".join(shared)
        )
    connection.execute(sa.text(_BACKFILL))
    for column in COLUMNS:
        op.create_index(
            f"uq_workflow_actions_pending_{column}",
            "workflow_actions",
            [column],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_index(f"uq_workflow_actions_pending_{column}", table_name="workflow_actions")
        op.drop_column("workflow_actions", column)
