"""action policies: versioned per action type; a pending action is pinned to the version in force

Revision ID: 8c41f0d2a7b3
Revises: 9cd892eae3b1
Create Date: 2026-11-26 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8c41f0d2a7b3"
down_revision: str | None = "9cd892eae3b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_policies",
        sa.Column("action_type", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("ttl_hours", sa.Integer(), nullable=False),
        sa.Column("reviewer_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("action_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "required_approvals BETWEEN 1 AND 5", name="ck_action_policies_required_approvals"
        ),
        sa.CheckConstraint("ttl_hours > 0", name="ck_action_policies_ttl_hours"),
        sa.CheckConstraint("version > 0", name="ck_action_policies_version"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["approved_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["action_id"], ["workflow_actions.id"]),
        sa.PrimaryKeyConstraint("action_type", "version"),
    )
    op.add_column(
        "workflow_actions", sa.Column("policy_version", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("workflow_actions", "policy_version")
    op.drop_table("action_policies")
