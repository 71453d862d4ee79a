"""outbox claims: a sender claims messages in a committed transaction, the claim expires

Revision ID: 5d2b8e41c7a9
Revises: 037532d9167d
Create Date: 2026-11-26 15:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2b8e41c7a9"
down_revision: str | None = "037532d9167d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbound_emails", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbound_emails", "claimed_until")
