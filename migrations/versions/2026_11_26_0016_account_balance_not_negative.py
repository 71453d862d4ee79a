"""accounts: a balance never goes below zero (transfers check funds; the database keeps the promise)

Revision ID: 5d2b8e71c9a3
Revises: a7c3e91d2f40
Create Date: 2026-11-26 20:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d2b8e71c9a3"
down_revision: str | None = "a7c3e91d2f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint("ck_accounts_balance_not_negative", "accounts", "balance >= 0")


def downgrade() -> None:
    op.drop_constraint("ck_accounts_balance_not_negative", "accounts", type_="check")
