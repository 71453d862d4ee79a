"""Database tables (SQLModel, table=True). Input validation lives in non-table models elsewhere."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def _record_version() -> Any:
    """A record's version: 1 when created, one more at each change of its own fields (a trigger
    keeps it, see migration records_and_money), so an update approved later can tell the record
    changed since it was proposed. A balance moving is not a change of the record's fields."""
    return Field(default=1, sa_column_kwargs={"server_default": "1"})


def _prefix_searchable(name: str, column: str) -> Index:
    """A btree in byte order (text_pattern_ops): the records pages' lists walk it in order and a
    prefix search is a range of it, whatever the database's collation (app.records.queries)."""
    return Index(name, column, postgresql_ops={column: "text_pattern_ops"})


def _substring_searchable(name: str, column: str) -> Index:
    """A trigram GIN index (pg_trgm): `column ILIKE '%text%'` without reading the table."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


def _optional_timestamp(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), **kwargs)


class Role(StrEnum):
    MAKER = "maker"
    CHECKER = "checker"
    ADMIN = "admin"


class ActionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    CHANGES_REQUESTED = "changes_requested"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        _prefix_searchable("ix_users_username_pattern", "username"),
        _substring_searchable("ix_users_full_name_trgm", "full_name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=50, unique=True, index=True)
    email: str = Field(max_length=254, unique=True)
    full_name: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(20)), nullable=False))
    is_active: bool = Field(default=True)
    version: int = _record_version()
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = _optional_timestamp()
    last_login_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (
        # transfers check funds on the locked rows; this keeps the promise should any other path forget
        CheckConstraint("balance >= 0", name="ck_accounts_balance_not_negative"),
        _prefix_searchable("ix_accounts_number_pattern", "account_number"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    account_number: str = Field(max_length=34, unique=True)
    account_type: str = Field(max_length=20)
    balance: Decimal = Field(default=Decimal("0.00"), sa_type=Numeric(18, 2))
    currency: str = Field(max_length=3)
    status: str = Field(default="active", max_length=20)
    """active, frozen (neither sends nor receives) or closed."""
    version: int = _record_version()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Promotion(SQLModel, table=True):
    __tablename__ = "promotions"
    __table_args__ = (
        _prefix_searchable("ix_promotions_code_pattern", "code"),
        _substring_searchable("ix_promotions_name_trgm", "name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    discount_type: str = Field(max_length=20)
    discount_value: Decimal = Field(sa_type=Numeric(12, 2))
    start_date: datetime = Field(sa_type=DateTime(timezone=True))
    end_date: datetime = Field(sa_type=DateTime(timezone=True))
    is_active: bool = Field(default=True)
    version: int = _record_version()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class LedgerEntry(SQLModel, table=True):
    """One leg of a money movement on an account, written with the balance change it records;
    append-only. A transfer writes two: a debit (negative amount) and a credit."""

    __tablename__ = "ledger_entries"
    # an account's ledger, newest first, is an index range
    __table_args__ = (Index("ix_ledger_entries_account_id", "account_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    account_id: uuid.UUID = Field(foreign_key="accounts.id")
    action_id: uuid.UUID | None = Field(default=None, foreign_key="workflow_actions.id")
    """The approved action that moved the money."""
    counterparty_account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id")
    amount: Decimal = Field(sa_type=Numeric(18, 2))
    """Signed: negative leaves the account, positive arrives."""
    balance_after: Decimal = Field(sa_type=Numeric(18, 2))
    currency: str = Field(max_length=3)
    reference: str = Field(default="", max_length=140)
    created_at: datetime = _timestamp()


_PENDING = text("status = 'pending'")
AMOUNT_SORT_KEY = text("(0 - COALESCE(amount, 0))")
"""The queue's amount order as one ascending key: largest first, and no amount (moves no money) as 0."""
PENDING_KEY_COLUMNS = ("unique_key_1", "unique_key_2")
"""workflow_actions' columns for an action's unique keys, each under a unique index over the pending
actions: a type declares at most this many keys, its n-th key in the n-th column."""


class WorkflowAction(SQLModel, table=True):
    __tablename__ = "workflow_actions"
    __table_args__ = (
        # one per list order and filter, each ending in (created_at, id): a page is an index range
        Index("ix_workflow_actions_created", "created_at", "id"),
        Index("ix_workflow_actions_status_created", "status", "created_at", "id"),
        Index("ix_workflow_actions_type_created", "action_type", "created_at", "id"),
        Index("ix_workflow_actions_type_status_created", "action_type", "status", "created_at", "id"),
        Index("ix_workflow_actions_maker_created", "maker_id", "created_at", "id"),
        Index("ix_workflow_actions_maker_status_created", "maker_id", "status", "created_at", "id"),
        # the expiry sweeper's range: only pending actions can expire
        Index(
            "ix_workflow_actions_pending_expiry", "expires_at", postgresql_where=text("status = 'pending'")
        ),
        # a maker's requests that changed since a moment: the notices of My requests
        Index("ix_workflow_actions_maker_updated", "maker_id", "updated_at"),
        # no two pending actions share a key (app.actions.base.UniqueKey): the database refuses the
        # second even when both arrive at once; a decided action's key no longer counts
        *(
            Index(f"uq_workflow_actions_pending_{column}", column, unique=True, postgresql_where=_PENDING)
            for column in PENDING_KEY_COLUMNS
        ),
        # the pending changes to a record (its page's marker): record_ids @> ARRAY[id]
        Index(
            "ix_workflow_actions_pending_records",
            "record_ids",
            postgresql_using="gin",
            postgresql_where=_PENDING,
        ),
        # the queue sorted by amount
        Index("ix_workflow_actions_pending_amount", "amount", "created_at", "id", postgresql_where=_PENDING),
        # the queue's search and sorts (app.workflow.views): free text over the summaries, by type,
        # and largest amount first (a request that moves no money counts as 0), oldest first on ties
        Index(
            "ix_workflow_actions_pending_summary_trgm",
            "summary",
            postgresql_using="gin",
            postgresql_ops={"summary": "gin_trgm_ops"},
            postgresql_where=_PENDING,
        ),
        Index(
            "ix_workflow_actions_pending_type", "action_type", "created_at", "id", postgresql_where=_PENDING
        ),
        Index(
            "ix_workflow_actions_pending_largest",
            AMOUNT_SORT_KEY,
            "created_at",
            "id",
            postgresql_where=_PENDING,
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    action_type: str = Field(max_length=50)
    status: str = Field(default=ActionStatus.PENDING.value, max_length=20)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    summary: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    """Written once at submission by the type (bulk loads that skip it show the type name instead)."""
    """What the request does in a checker's words, written at submission (ActionType.summarize)."""
    maker_id: uuid.UUID = Field(foreign_key="users.id")
    checker_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    review_comment: str | None = Field(default=None, max_length=2000)
    reviewed_at: datetime | None = _optional_timestamp()
    required_approvals: int = Field(default=1)
    approvals: int = Field(default=0)
    policy_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """The version of its type's policy in force at submission (action_policies); 0: the defaults."""
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    """1 at submission; each resubmission after a send-back adds one (earlier ones: action_versions)."""
    expires_at: datetime | None = _optional_timestamp()
    """When it expires if still pending: submission (or resubmission) plus its pinned policy's time
    to live. None: never (rows loaded in bulk without it)."""
    execution_result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    unique_key_1: str | None = Field(default=None, sa_type=Text)
    """The type's first unique key, such as 'username:ana' (ActionType.pending_keys); kept once decided."""
    unique_key_2: str | None = Field(default=None, sa_type=Text)
    """Its second, such as 'email:ana@example.com'."""
    record_ids: list[uuid.UUID] | None = Field(default=None, sa_column=Column(ARRAY(Uuid()), nullable=True))
    """The existing records (users, accounts, promotions) the action would change
    (ActionType.records): their pages show it while it is pending."""
    record_version: int | None = Field(default=None)
    """The version of the record an update changes, as it was at submission: approval is refused as
    stale when the record's version has moved since."""
    record_before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    """The fields the update changes, with their values at submission (the diff's "before")."""
    amount: Decimal | None = Field(default=None, sa_type=Numeric(18, 2))
    """The money it moves, when it moves money (ActionType.amount): for sorting and policies."""


COUNT_SLOTS = 64
"""Rows per counter: each connection adds to slot pg_backend_pid() mod COUNT_SLOTS (set by the
counting trigger, see migration 0008), so concurrent transactions rarely wait for each other."""
MAKER_COUNT_SLOTS = 16


class WorkflowActionCount(SQLModel, table=True):
    """How many actions have each type and status, summed over slots.

    Kept by a trigger on workflow_actions in the changing transaction (see the migration
    workflow_action_counters), so bulk SQL is counted too; lists read their totals here.
    """

    __tablename__ = "workflow_action_counts"

    action_type: str = Field(primary_key=True, max_length=50)
    status: str = Field(primary_key=True, max_length=20)
    slot: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0, sa_type=BigInteger)


class WorkflowMakerCount(SQLModel, table=True):
    """The same counts per maker, for lists filtered by maker. Kept by the same trigger."""

    __tablename__ = "workflow_maker_counts"

    maker_id: uuid.UUID = Field(primary_key=True)
    action_type: str = Field(primary_key=True, max_length=50)
    status: str = Field(primary_key=True, max_length=20)
    slot: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0, sa_type=BigInteger)


class ActionPolicy(SQLModel, table=True):
    """One version of an action type's policy; a change adds the next version (written by an
    approved update_policy action), so rows are never updated and history is the rows themselves.

    A type with no row has its defaults (version 0, see app.workflow.policies)."""

    __tablename__ = "action_policies"
    __table_args__ = (
        CheckConstraint("required_approvals BETWEEN 1 AND 5", name="ck_action_policies_required_approvals"),
        CheckConstraint("ttl_hours > 0", name="ck_action_policies_ttl_hours"),
        CheckConstraint("version > 0", name="ck_action_policies_version"),
        CheckConstraint(
            "large_amount_approvals BETWEEN 1 AND 5", name="ck_action_policies_large_amount_approvals"
        ),
        CheckConstraint("large_amount > 0", name="ck_action_policies_large_amount"),
    )

    action_type: str = Field(primary_key=True, max_length=50)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    enabled: bool = Field(default=True)
    required_approvals: int = Field(default=1)
    ttl_hours: int = Field(default=72)
    """How long an action of this type may stay pending."""
    reviewer_role: str = Field(default=Role.CHECKER.value, max_length=20)
    step_up: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    """An approval needs the checker to enter their password again."""
    large_amount: Decimal | None = Field(default=None, sa_type=Numeric(18, 2))
    """Above this amount an action needs large_amount_approvals approvals instead."""
    large_amount_approvals: int | None = Field(default=None)
    created_at: datetime = _timestamp()
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    """The admin who proposed this version."""
    approved_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    """The admin whose approval put it in force."""
    action_id: uuid.UUID | None = Field(default=None, foreign_key="workflow_actions.id")
    """The update_policy action that made it."""


class ActionReview(SQLModel, table=True):
    __tablename__ = "action_reviews"
    # one review per person and version: a resubmitted action is reviewed afresh
    __table_args__ = (
        UniqueConstraint("action_id", "version", "reviewer_id", name="uq_action_reviews_one_per_user"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    action_id: uuid.UUID = Field(foreign_key="workflow_actions.id", index=True)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    """The action's version this review is of: approvals count only for the current one."""
    reviewer_id: uuid.UUID = Field(foreign_key="users.id")
    decision: str = Field(max_length=20)
    comment: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _timestamp()


class ActionVersion(SQLModel, table=True):
    """Every version of an action that was resubmitted: written at resubmission (the outgoing
    version once, and the new one), so an action never sent back costs no row here."""

    __tablename__ = "action_versions"

    action_id: uuid.UUID = Field(foreign_key="workflow_actions.id", primary_key=True)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    summary: str = Field(default="", sa_type=Text)
    submitted_at: datetime = _timestamp()


class AuditEvent(SQLModel, table=True):
    """Append-only; chained after the fact by the sealer (app/audit.py), not at insert time.

    xact_id is the inserting transaction's id: the sealer chains events in (xact_id, id) order
    once no transaction that could still add an event below that point is in flight.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_xact_id_id", "xact_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    xact_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, nullable=False, server_default=text("(pg_current_xact_id())::text::bigint")
        ),
    )
    occurred_at: datetime = _timestamp()
    event_type: str = Field(max_length=50)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    action_id: uuid.UUID | None = Field(default=None, foreign_key="workflow_actions.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


class AuditSeal(SQLModel, table=True):
    """One per sealed event, in chain order (seq 1, 2, 3, ... without gaps); append-only.

    event_digest is the SHA-256 of the event's canonical content; chain_hash is the SHA-256 of the
    previous seal's chain_hash and this event_digest.
    """

    __tablename__ = "audit_seals"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    event_xact_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_digest: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)
    sealed_at: datetime = _timestamp()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _timestamp()
    revoked_at: datetime | None = _optional_timestamp()
    last_used_at: datetime | None = _optional_timestamp()
    """Kept to the minute: authentication writes it at most once a minute per token."""


class ActivationToken(SQLModel, table=True):
    """A one-time link with which a user created under dual control sets their own password."""

    __tablename__ = "activation_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = _optional_timestamp()
    created_at: datetime = _timestamp()


class SessionRecord(SQLModel, table=True):
    """Server-side browser sessions, shared by every app process."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=128)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True, ondelete="CASCADE")
    data: bytes
    created_at: datetime = _timestamp()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)


class OutboundEmail(SQLModel, table=True):
    """The mail outbox: written with the change that causes a message, sent after it commits."""

    __tablename__ = "outbound_emails"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str | None = Field(default=None, sa_type=Text)
    """Erased once delivered: it may carry a one-time link."""
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _timestamp(index=True)
    sent_at: datetime | None = _optional_timestamp()
    claimed_until: datetime | None = _optional_timestamp()
    """Set while a process sends the message; a sender that died leaves a claim that expires."""
