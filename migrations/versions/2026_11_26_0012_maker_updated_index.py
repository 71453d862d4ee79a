"""an index on (maker_id, updated_at): a maker's requests that changed since a moment (My requests' notices)

Revision ID: 5e1d7a3c9b24
Revises: 8c41f0d2a7b3
Create Date: 2026-11-26 18:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e1d7a3c9b24"
down_revision: str | None = "8c41f0d2a7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_workflow_actions_maker_updated", "workflow_actions", ["maker_id", "updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_workflow_actions_maker_updated", table_name="workflow_actions")
