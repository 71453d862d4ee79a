"""records search: indexes for the records pages' lists and searches (prefix and substring), and the
users that pending update_user and resend_activation actions change, for their pages' markers

Revision ID: 5ee4a08b6fb4
Revises: 5d2b8e71c9a3
Create Date: 2026-11-26 20:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5ee4a08b6fb4"
down_revision: str | None = "5d2b8e71c9a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# byte-order btrees: each list walks one in order, and a prefix search is a range of it
_PREFIX = (
    ("ix_users_username_pattern", "users", "username"),
    ("ix_accounts_number_pattern", "accounts", "account_number"),
    ("ix_promotions_code_pattern", "promotions", "code"),
)
# trigram GIN indexes: a name containing some text
_SUBSTRING = (
    ("ix_users_full_name_trgm", "users", "full_name"),
    ("ix_promotions_name_trgm", "promotions", "name"),
)
_UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in _PREFIX:
        op.create_index(name, table, [column], postgresql_ops={column: "text_pattern_ops"})
    for name, table, column in _SUBSTRING:
        op.create_index(
            name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
        )
    # the user changes submitted before their types named the record they change
    op.execute(
        "UPDATE workflow_actions SET record_ids = ARRAY[(payload->>'userId')::uuid] "
        "WHERE action_type IN ('update_user', 'resend_activation') AND record_ids IS NULL "
        f"AND payload->>'userId' ~ '{_UUID}'"
    )


def downgrade() -> None:
    for name, table, _ in _SUBSTRING + _PREFIX:
        op.drop_index(name, table_name=table)
    # the extension stays: other objects may use it, and it is harmless
