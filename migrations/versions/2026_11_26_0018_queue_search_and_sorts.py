"""the queue's search and sorts: trigram search over pending summaries, pending by type, and
pending by amount, largest first

Revision ID: 5c1e8b4d7a92
Revises: 5ee4a08b6fb4
Create Date: 2026-11-26 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e8b4d7a92"
down_revision: str | None = "5ee4a08b6fb4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # ships with PostgreSQL (contrib); other migrations may use it too, so a downgrade leaves it
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_workflow_actions_pending_summary_trgm",
        "workflow_actions",
        ["summary"],
        postgresql_using="gin",
        postgresql_ops={"summary": "gin_trgm_ops"},
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_workflow_actions_pending_type",
        "workflow_actions",
        ["action_type", "created_at", "id"],
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_workflow_actions_pending_largest",
        "workflow_actions",
        [sa.text("(0 - COALESCE(amount, 0))"), "created_at", "id"],
        postgresql_where=_PENDING,
    )


def downgrade() -> None:
    for name in (
        "ix_workflow_actions_pending_largest",
        "ix_workflow_actions_pending_type",
        "ix_workflow_actions_pending_summary_trgm",
    ):
        op.drop_index(name, table_name="workflow_actions")
