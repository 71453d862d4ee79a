"""normalise user emails: addresses stored before the bare-address rule get its one spelling

Revision ID: 9cd892eae3b1
Revises: 0f897e665d1b
Create Date: 2026-11-26 17:25:00.000000

app/accounts/identity.py stores an address lower-case, trimmed and bare (no display name, angle
brackets or trailing dot). Rows written before that rule are rewritten the same way: the mailbox
mail software would deliver to ("Jane" <Ana@Example.COM.> is ana@example.com). When the normalised
address is already another user's (stored so, or normalised earlier in this run, oldest users
first), the row keeps what was stored and a warning names it: one mailbox must not carry two
identities, and which one is legitimate is for an administrator to decide (and deactivate the
other through an update_user action).
The rule's code is copied here, not imported: a migration must keep meaning what it meant.
"""

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9cd892eae3b1"
down_revision: str | None = "0f897e665d1b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>\s*$")


def normalised(email: str) -> str:
    """The bare address, lower-case, without surrounding spaces or trailing dots."""
    address = email.strip()
    inside = _ANGLE_ADDRESS.search(address)
    if inside:
        address = inside.group(1).strip()
    return address.lower().rstrip(".")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, username, email FROM users ORDER BY created_at, id")).all()
    taken = {row.email for row in rows}
    for row in rows:
        target = normalised(row.email)
        if target == row.email:
            continue
        if target in taken:
            log.warning(
                "user %s keeps the email %r: %s is another user's mailbox; decide which user holds it",
                row.username,
                row.email,
                target,
            )
            continue
        connection.execute(
            sa.text("UPDATE users SET email = :email, updated_at = now() WHERE id = :id"),
            {"email": target, "id": row.id},
        )
        taken.discard(row.email)
        taken.add(target)


def downgrade() -> None:
    """Nothing to undo: the normalised address names the same mailbox as the one it replaced."""
