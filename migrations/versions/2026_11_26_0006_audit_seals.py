"""audit seals: events appended without a lock, chained afterwards by a sealer

Revision ID: 037532d9167d
Revises: 671b90ef7cd5
Create Date: 2026-11-26 14:50:00.000000
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "037532d9167d"
down_revision: str | None = "c7a1e5f0b3d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALS_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_seals_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_seals is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    # existing events get xact_id 0 without rewriting a row (a constant default is not an UPDATE):
    # they are sealed first, in id order, the order their old chain had
    op.add_column("audit_events", sa.Column("xact_id", sa.BigInteger(), nullable=False, server_default="0"))
    op.alter_column("audit_events", "xact_id", server_default=sa.text("(pg_current_xact_id())::text::bigint"))
    op.create_index("ix_audit_events_xact_id_id", "audit_events", ["xact_id", "id"], unique=False)
    op.drop_column("audit_events", "hash")
    op.drop_column("audit_events", "prev_hash")
    op.create_table(
        "audit_seals",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_xact_id", sa.BigInteger(), nullable=False),
        sa.Column("event_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("chain_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.execute(SEALS_APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals "
        "FOR EACH ROW EXECUTE FUNCTION audit_seals_refuse_change()"
    )


def _old_event_hash(row: sa.Row, prev_hash: str) -> str:
    body = {
        "occurredAt": row.occurred_at.isoformat(),
        "eventType": row.event_type,
        "actorId": str(row.actor_id) if row.actor_id else None,
        "actionId": str(row.action_id) if row.action_id else None,
        "details": row.details,
        "prevHash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _rebuild_old_chain() -> None:
    """The previous revision chains at insert time, in id order: recompute that chain."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, occurred_at, event_type, actor_id, action_id, details FROM audit_events ORDER BY id"
        )
    ).all()
    prev_hash = "0" * 64
    for row in rows:
        event_hash = _old_event_hash(row, prev_hash)
        bind.execute(
            sa.text("UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id"),
            {"prev": prev_hash, "hash": event_hash, "id": row.id},
        )
        prev_hash = event_hash


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_seals_append_only ON audit_seals")
    op.execute("DROP FUNCTION IF EXISTS audit_seals_refuse_change()")
    op.drop_table("audit_seals")
    op.add_column("audit_events", sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64)))
    op.add_column("audit_events", sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64)))
    op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    _rebuild_old_chain()
    op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
    op.alter_column("audit_events", "prev_hash", nullable=False)
    op.alter_column("audit_events", "hash", nullable=False)
    op.create_unique_constraint("audit_events_hash_key", "audit_events", ["hash"])
    op.drop_index("ix_audit_events_xact_id_id", table_name="audit_events")
    op.drop_column("audit_events", "xact_id")
