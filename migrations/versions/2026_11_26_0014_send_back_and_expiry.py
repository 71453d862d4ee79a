"""send back and resubmit (versions, reviews per version) and expiry (expires_at)

Revision ID: 3f7a9c2e5b14
Revises: 5e1d7c3a9b24
Create Date: 2026-11-26 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3f7a9c2e5b14"
down_revision: str | None = "5e1d7c3a9b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("workflow_actions", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("workflow_actions", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # pending actions get the time to live of the policy they are pinned to (72 h: the defaults)
    op.execute(
        """
        UPDATE workflow_actions a
        SET expires_at = a.created_at + make_interval(hours => coalesce(
            (SELECT p.ttl_hours FROM action_policies p
             WHERE p.action_type = a.action_type AND p.version = a.policy_version), 72))
        WHERE a.status = 'pending'
        """
    )
    op.create_index(
        "ix_workflow_actions_pending_expiry",
        "workflow_actions",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.add_column("action_reviews", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.drop_constraint("uq_action_reviews_one_per_user", "action_reviews", type_="unique")
    op.create_unique_constraint(
        "uq_action_reviews_one_per_user", "action_reviews", ["action_id", "version", "reviewer_id"]
    )
    op.create_table(
        "action_versions",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["workflow_actions.id"]),
        sa.PrimaryKeyConstraint("action_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("action_versions")
    op.drop_constraint("uq_action_reviews_one_per_user", "action_reviews", type_="unique")
    op.execute(
        "DELETE FROM action_reviews r WHERE r.version <> "
        "(SELECT max(o.version) FROM action_reviews o WHERE o.action_id = r.action_id "
        "AND o.reviewer_id = r.reviewer_id)"
    )
    op.create_unique_constraint(
        "uq_action_reviews_one_per_user", "action_reviews", ["action_id", "reviewer_id"]
    )
    op.drop_column("action_reviews", "version")
    op.drop_index(
        "ix_workflow_actions_pending_expiry",
        table_name="workflow_actions",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_column("workflow_actions", "expires_at")
    op.drop_column("workflow_actions", "version")
