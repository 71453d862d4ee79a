"""action summaries: what each request does, stored at submission

Revision ID: 3ad553a3af25
Revises: 671b90ef7cd5
Create Date: 2026-11-26 15:00:00

Existing rows get the summary their type would have written, computed here in SQL from the payload
(and, for create_account, the holder as the users table holds them now); other types get their name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3ad553a3af25"
down_revision: str | None = "671b90ef7cd5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE workflow_actions AS a SET summary = CASE a.action_type
  WHEN 'create_user' THEN
    'Create user ' || coalesce(a.payload->>'username', '?')
    || ' (' || coalesce(a.payload->>'fullName', '?') || ', ' || coalesce(a.payload->>'email', '?') || ')'
    || ' as ' || coalesce(
      (SELECT string_agg(r, ', ') FROM jsonb_array_elements_text(
         CASE WHEN jsonb_typeof(a.payload->'roles') = 'array' THEN a.payload->'roles' ELSE '["maker"]' END
       ) AS r), 'maker')
  WHEN 'create_account' THEN
    'Open ' || coalesce(a.payload->>'accountType', '?') || ' account '
    || coalesce(a.payload->>'accountNumber', '?') || ' for '
    || coalesce(
      (SELECT coalesce(u.full_name, u.username) || ' (' || u.username || ', ' || u.email || ')'
         FROM users AS u WHERE u.id::text = a.payload->>'userId'),
      'user ' || coalesce(a.payload->>'userId', '?'))
    || ' with ' || coalesce(a.payload->>'balance', '?') || ' ' || coalesce(a.payload->>'currency', '')
  WHEN 'create_promotion' THEN
    'Promotion ' || coalesce(a.payload->>'code', '?') || ' (' || coalesce(a.payload->>'name', '?') || '): '
    || coalesce(a.payload->>'discountValue', '?')
    || CASE WHEN a.payload->>'discountType' = 'percentage' THEN '%' ELSE ' off' END
    || ', ' || coalesce(a.payload->>'startDate', '?') || ' to ' || coalesce(a.payload->>'endDate', '?')
  ELSE a.action_type
END
"""


def upgrade() -> None:
    op.add_column(
        "workflow_actions", sa.Column("summary", sa.Text(), nullable=False, server_default=sa.text("''"))
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("workflow_actions", "summary")
