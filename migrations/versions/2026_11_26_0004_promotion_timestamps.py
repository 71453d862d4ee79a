"""promotion start and end as timestamps with time zone

Existing dates become their midnight UTC (and back to the UTC date on downgrade).

Revision ID: 3c7e1a9d5f20
Revises: 671b90ef7cd5
Create Date: 2026-11-26 14:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c7e1a9d5f20"
down_revision: str | None = "3ad553a3af25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("start_date", "end_date")


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(
            f"ALTER TABLE promotions ALTER COLUMN {column} TYPE TIMESTAMP WITH TIME ZONE "
            f"USING ({column}::timestamp AT TIME ZONE 'UTC')"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(
            f"ALTER TABLE promotions ALTER COLUMN {column} TYPE DATE "
            f"USING (({column} AT TIME ZONE 'UTC')::date)"
        )
