"""Records as the API and the pages show them: JSON objects in camelCase, and what each viewer may
start from a record (links to prefilled request forms for the types that exist and they may propose)."""

import uuid
from dataclasses import dataclass
from typing import Any

from app.models import Role, User
from app.records.queries import Page, PendingChange
from app.workflow.controller import submittable


def user_status(row: Any) -> str:
    """active, inactive or awaiting activation (as the admin's Users page says)."""
    if not row.is_active:
        return "inactive"
    return "awaiting activation" if row.awaiting_activation else "active"


def _pending(pending: list[PendingChange]) -> list[dict[str, Any]]:
    return [change.json() for change in pending]


def account_json(row: Any, pending: list[PendingChange]) -> dict[str, Any]:
    return {
        "id": row.id,
        "accountNumber": row.account_number,
        "accountType": row.account_type,
        "currency": row.currency,
        "balance": row.balance,
        "status": row.status,
        "version": row.version,
        "holder": {"id": row.user_id, "username": row.holder_username, "fullName": row.holder_name},
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "pendingChanges": _pending(pending),
    }


def ledger_json(row: Any) -> dict[str, Any]:
    counterparty = (
        {"id": row.counterparty_account_id, "accountNumber": row.counterparty_number}
        if row.counterparty_account_id
        else None
    )
    return {
        "id": row.id,
        "amount": row.amount,
        "balanceAfter": row.balance_after,
        "currency": row.currency,
        "reference": row.reference,
        "counterparty": counterparty,
        "actionId": row.action_id,
        "createdAt": row.created_at,
    }


def user_json(row: Any, pending: list[PendingChange]) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "email": row.email,
        "fullName": row.full_name,
        "roles": list(row.roles),
        "status": user_status(row),
        "version": row.version,
        "lastLoginAt": row.last_login_at,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "pendingChanges": _pending(pending),
    }


def promotion_json(row: Any, pending: list[PendingChange]) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "name": row.name,
        "description": row.description,
        "discountType": row.discount_type,
        "discountValue": row.discount_value,
        "startDate": row.start_date,
        "endDate": row.end_date,
        "active": row.is_active,
        "version": row.version,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "pendingChanges": _pending(pending),
    }


def pagination_json(page: Page, limit: int) -> dict[str, Any]:
    return {
        "limit": limit,
        "nextCursor": page.next_cursor,
        "previousCursor": page.previous_cursor,
        "estimatedTotal": page.estimate,
    }


# --- what a viewer may start from a record -------------------------------------------------------------

TRANSFER_FUNDS = "transfer_funds"
UPDATE_ACCOUNT_STATUS = "update_account_status"
CLOSE_ACCOUNT = "close_account"
UPDATE_PROMOTION = "update_promotion"


@dataclass(frozen=True)
class Start:
    """A link that starts a request about a record: its type's form, filled from the record."""

    label: str
    action_type: str
    record_id: uuid.UUID

    @property
    def href(self) -> str:
        return f"/actions/new?actionType={self.action_type}&record={self.record_id}"


def may_propose(viewer: User, action_type: str) -> bool:
    """The type exists (types are added separately) and the request form offers it to the viewer
    (they hold its maker role)."""
    return action_type in submittable(viewer)


def _offered(viewer: User, record_id: uuid.UUID, choices: list[tuple[str, str]]) -> list[Start]:
    return [
        Start(label, action_type, record_id)
        for label, action_type in choices
        if may_propose(viewer, action_type)
    ]


def account_starts(viewer: User, account: Any) -> list[Start]:
    """Transfer out, freeze or unfreeze, and close: none for a closed account; an active one only
    sends money."""
    if account.status == "closed":
        return []
    choices = []
    if account.status == "active":
        choices.append(("Transfer from this account", TRANSFER_FUNDS))
    choices.append(("Unfreeze" if account.status == "frozen" else "Freeze", UPDATE_ACCOUNT_STATUS))
    choices.append(("Close", CLOSE_ACCOUNT))
    return _offered(viewer, account.id, choices)


def promotion_starts(viewer: User, promotion: Any) -> list[Start]:
    return _offered(viewer, promotion.id, [("Edit", UPDATE_PROMOTION)])


def may_change_users(viewer: User) -> bool:
    """Admins propose changes to users on the admin's change page (app.people.pages)."""
    return viewer.has_role(Role.ADMIN)
