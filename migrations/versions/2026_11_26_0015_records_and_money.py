"""records and money: record versions, the ledger, what an action changes and moves, and the
policy settings for step-up and large amounts

Revision ID: a7c3e91d2f40
Revises: 3f7a9c2e5b14
Create Date: 2026-11-26 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a7c3e91d2f40"
down_revision: str | None = "3f7a9c2e5b14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the fields whose change makes a record's next version; bookkeeping (a balance, a login time) does not
_VERSIONED = {
    "users": ("username", "email", "full_name", "roles", "is_active"),
    "accounts": ("user_id", "account_number", "account_type", "currency", "status"),
    "promotions": (
        "code",
        "name",
        "description",
        "discount_type",
        "discount_value",
        "start_date",
        "end_date",
        "is_active",
    ),
}
_PENDING = sa.text("status = 'pending'")


def _bump_version_trigger(table: str, columns: tuple[str, ...]) -> None:
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)
    op.execute(
        f"""
        CREATE FUNCTION {table}_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {changed} THEN
                NEW.version := OLD.version + 1;
            ELSE
                NEW.version := OLD.version;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {table}_bump_version BEFORE UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_bump_version()"
    )


def upgrade() -> None:
    for table, columns in _VERSIONED.items():
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        _bump_version_trigger(table, columns)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=True),
        sa.Column("counterparty_account_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("balance_after", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["action_id"], ["workflow_actions.id"]),
        sa.ForeignKeyConstraint(["counterparty_account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id", "id"])
    op.add_column("workflow_actions", sa.Column("record_ids", postgresql.ARRAY(sa.Uuid()), nullable=True))
    op.add_column("workflow_actions", sa.Column("record_version", sa.Integer(), nullable=True))
    op.add_column(
        "workflow_actions",
        sa.Column("record_before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("workflow_actions", sa.Column("amount", sa.Numeric(18, 2), nullable=True))
    op.create_index(
        "ix_workflow_actions_pending_records",
        "workflow_actions",
        ["record_ids"],
        postgresql_using="gin",
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_workflow_actions_pending_amount",
        "workflow_actions",
        ["amount", "created_at", "id"],
        postgresql_where=_PENDING,
    )
    op.add_column(
        "action_policies", sa.Column("step_up", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("action_policies", sa.Column("large_amount", sa.Numeric(18, 2), nullable=True))
    op.add_column("action_policies", sa.Column("large_amount_approvals", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "ck_action_policies_large_amount_approvals",
        "action_policies",
        "large_amount_approvals BETWEEN 1 AND 5",
    )
    op.create_check_constraint("ck_action_policies_large_amount", "action_policies", "large_amount > 0")


def downgrade() -> None:
    op.drop_constraint("ck_action_policies_large_amount", "action_policies", type_="check")
    op.drop_constraint("ck_action_policies_large_amount_approvals", "action_policies", type_="check")
    op.drop_column("action_policies", "large_amount_approvals")
    op.drop_column("action_policies", "large_amount")
    op.drop_column("action_policies", "step_up")
    op.drop_index(
        "ix_workflow_actions_pending_amount", table_name="workflow_actions", postgresql_where=_PENDING
    )
    op.drop_index(
        "ix_workflow_actions_pending_records",
        table_name="workflow_actions",
        postgresql_using="gin",
        postgresql_where=_PENDING,
    )
    op.drop_column("workflow_actions", "amount")
    op.drop_column("workflow_actions", "record_before")
    op.drop_column("workflow_actions", "record_version")
    op.drop_column("workflow_actions", "record_ids")
    op.drop_index("ix_ledger_entries_account_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    for table in _VERSIONED:
        op.execute(f"DROP TRIGGER {table}_bump_version ON {table}")
        op.execute(f"DROP FUNCTION {table}_bump_version()")
        op.drop_column(table, "version")
