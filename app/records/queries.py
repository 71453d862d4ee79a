"""Reads for the records pages: users, accounts (with their ledger) and promotions, each a list with
search and keyset pagination that stays an index range at a million rows, and the pending changes to
each record. Nothing here writes.

Lists are ordered by a unique text key (username, account number, promotion code) in byte order, the
order of a text_pattern_ops btree (app.models): a page is a range of that index, from a cursor, in
either direction. A prefix search is a range of the same index (prefix_range), so it stays an index
range under any collation and in a generic prepared plan, where LIKE with a parameter would not. A name
containing some text (3 characters or more) is found by a trigram GIN index. A search that matches in
two ways runs one statement per way, each an index range of at most a page, and merges them. No list
counts its rows: pages say "next" and "previous", and the whole list gives PostgreSQL's estimate.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, and_, bindparam, cast, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import TextClause
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InvalidInput, NotFound
from app.models import Account, LedgerEntry, Promotion, User, WorkflowAction
from app.text import holds_nul

USERS = User.__table__
ACCOUNTS = Account.__table__
PROMOTIONS = Promotion.__table__
LEDGER = LedgerEntry.__table__
ACTIONS = WorkflowAction.__table__

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SEARCH = 100
CONTAINS_FROM = 3
"""Names are searched for text they contain from this many characters (a trigram needs three)."""


# --- input: searches and cursors ----------------------------------------------------------------------


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """(low, high): in byte order (UTF-8 order is code point order, Python's string order), the strings
    that start with `prefix` are exactly those s with low <= s < high (high None: no upper bound)."""
    head = prefix
    while head:
        following = ord(head[-1]) + 1
        if 0xD800 <= following <= 0xDFFF:  # surrogates are not characters: skip over them
            following = 0xE000
        if following <= 0x10FFFF:
            return prefix, head[:-1] + chr(following)
        head = head[:-1]
    return prefix, None


@dataclass(frozen=True)
class Search:
    """What a person typed in a list's search box, trimmed."""

    text: str

    @classmethod
    def parse(cls, raw: str | None) -> "Search | None":
        """None for no search; raises InvalidInput for text the lists cannot search for."""
        if raw is None or not raw.strip():
            return None
        if len(raw) > MAX_SEARCH or holds_nul(raw):
            raise InvalidInput(
                "The search is not valid", details={"q": f"Use at most {MAX_SEARCH} characters of plain text"}
            )
        return cls(raw.strip())

    @property
    def contains(self) -> str | None:
        """An ILIKE pattern for text containing the search, or None when it is too short for one."""
        return f"%{_escape_like(self.text)}%" if len(self.text) >= CONTAINS_FROM else None


CURSOR_KINDS = ("user", "account", "promotion", "ledger")


def encode_cursor(kind: str, key: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, raw: str | None, field_name: str) -> str | None:
    """The key a cursor of this kind of list holds; raises InvalidInput for one no such list gave out."""
    if not raw:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        decoded = ""
    found_kind, _, key = decoded.partition(":")
    valid = found_kind == kind and key and not holds_nul(key)
    if valid and kind == "ledger":
        valid = key.isdigit() and len(key) < 19
    if not valid:
        raise InvalidInput(
            "The cursor is not valid", details={field_name: "Use the nextCursor or previousCursor of a page"}
        )
    return key


@dataclass(frozen=True)
class Window:
    """Which page of a list: the first, the one after a row, or the one before a row."""

    limit: int = PAGE_SIZE
    after: str | None = None
    before: str | None = None

    @classmethod
    def parse(cls, kind: str, *, limit: int, after: str | None, before: str | None) -> "Window":
        """Raises InvalidInput for a bad limit, a bad cursor, or both directions at once."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(
                "The limit is not valid", details={"limit": f"Use a number from 1 to {MAX_PAGE_SIZE}"}
            )
        if after and before:
            raise InvalidInput("Give one cursor", details={"before": "Give either after or before, not both"})
        return cls(limit, decode_cursor(kind, after, "after"), decode_cursor(kind, before, "before"))

    @property
    def backwards(self) -> bool:
        return self.before is not None


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    next_cursor: str | None
    previous_cursor: str | None
    estimate: int | None = None
    """About how many rows the whole list has (unsearched lists only; PostgreSQL's statistics)."""


# --- pending changes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingChange:
    """A pending action that would change a record (ActionType.records): its page links to it.
    Attribute names as in app.people.service, so templates/people/_pending.html shows both."""

    action_id: uuid.UUID
    action_type: str
    summary: str

    def json(self) -> dict[str, Any]:
        return {
            "id": self.action_id,
            "actionType": self.action_type,
            "summary": self.summary,
            "url": f"/api/workflow/actions/{self.action_id}",
        }


_IDS = ARRAY(Uuid())


def pending_statement(record_ids: list[uuid.UUID]) -> Select[Any]:
    # the status as a literal: the planner then proves the partial GIN index's predicate, even in a
    # generic prepared plan
    return (
        select(ACTIONS.c.id, ACTIONS.c.action_type, ACTIONS.c.summary, ACTIONS.c.record_ids)
        .where(
            ACTIONS.c.record_ids.op("&&")(cast(bindparam("ids", record_ids, type_=_IDS), _IDS)),
            ACTIONS.c.status == literal_column("'pending'"),
        )
        .order_by(ACTIONS.c.created_at, ACTIONS.c.id)
    )


async def pending_changes(
    session: AsyncSession, record_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[PendingChange]]:
    """The pending actions that would change each of these records, oldest first, by record."""
    wanted = list(dict.fromkeys(record_ids))
    found: dict[uuid.UUID, list[PendingChange]] = {record_id: [] for record_id in wanted}
    if not wanted:
        return found
    connection = await session.connection()
    statement = pending_statement(wanted)
    for action_id, action_type, summary, targets in (await connection.execute(statement)).all():
        for target in targets or []:
            if target in found:
                found[target].append(PendingChange(action_id, action_type, summary))
    return found


# --- keyset pages over a byte-order key ---------------------------------------------------------------


def _greater(column: Any, value: Any) -> ColumnElement[bool]:
    return column.op("~>~", is_comparison=True)(value)


def _less(column: Any, value: Any) -> ColumnElement[bool]:
    return column.op("~<~", is_comparison=True)(value)


def _in_prefix(column: Any, prefix: str) -> ColumnElement[bool]:
    low, high = prefix_range(prefix)
    at_least = column.op("~>=~", is_comparison=True)(low)
    return at_least if high is None else and_(at_least, _less(column, high))


def _byte_order(column: Any, *, descending: bool) -> TextClause:
    """ORDER BY in the text_pattern_ops index's order (which no COLLATE clause names)."""
    return text(f"{column.table.name}.{column.name} USING {'~>~' if descending else '~<~'}")


def _limit(window: Window) -> Any:
    """A page and one row, written into the statement: planned with LIMIT $1, a generic plan would
    guess a large share of the table and choose to read all of it."""
    return bindparam("limit", window.limit + 1, literal_execute=True)


def keyset(statement: Select[Any], key: Any, window: Window) -> Select[Any]:
    """One page of `statement` ordered by the unique text `key`, read in the window's direction, with
    one row more than the page, which says whether the list goes on that way."""
    if window.backwards:
        statement = statement.where(_less(key, window.before))
    elif window.after is not None:
        statement = statement.where(_greater(key, window.after))
    return statement.order_by(_byte_order(key, descending=window.backwards)).limit(_limit(window))


def _page(rows: Sequence[Any], window: Window, key_of: Callable[[Any], str], kind: str) -> Page:
    """The rows of a keyset read (in the order read, one more than the page at most) as a page in list
    order, with cursors: next and previous exist when rows lie that way."""
    more = len(rows) > window.limit
    kept = list(rows[: window.limit])
    if window.backwards:
        kept.reverse()
    first = encode_cursor(kind, key_of(kept[0])) if kept else None
    last = encode_cursor(kind, key_of(kept[-1])) if kept else None
    if window.backwards:
        return Page(kept, next_cursor=last, previous_cursor=first if more else None)
    return Page(kept, next_cursor=last if more else None, previous_cursor=first if window.after else None)


def _merged(reads: list[Sequence[Any]], key_of: Callable[[Any], str], window: Window) -> list[Any]:
    """The union of several keyset reads of one list, in the read's order, each row once."""
    by_key = {key_of(row): row for rows in reads for row in rows}
    ordered = sorted(by_key, reverse=window.backwards)
    return [by_key[key] for key in ordered[: window.limit + 1]]


async def _rows(session: AsyncSession, statement: Select[Any]) -> Sequence[Any]:
    connection = await session.connection()
    return (await connection.execute(statement)).all()


async def estimate(session: AsyncSession, table: str) -> int | None:
    """PostgreSQL's estimate of a table's rows (from its last ANALYZE), or None before it has one."""
    connection = await session.connection()
    found = (
        await connection.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE oid = CAST(:table AS regclass)"),
            {"table": table},
        )
    ).scalar_one_or_none()
    return int(found) if found and found > 0 else None


async def _list(
    session: AsyncSession,
    statements: list[Select[Any]],
    window: Window,
    key_of: Callable[[Any], str],
    kind: str,
    table: str,
    searched: bool,
) -> Page:
    reads = [await _rows(session, statement) for statement in statements]
    rows = reads[0] if len(reads) == 1 else _merged(reads, key_of, window)
    page = _page(rows, window, key_of, kind)
    if searched:
        return page
    return Page(page.rows, page.next_cursor, page.previous_cursor, await estimate(session, table))


# --- accounts -----------------------------------------------------------------------------------------


def _accounts() -> Select[Any]:
    return select(
        ACCOUNTS.c.id,
        ACCOUNTS.c.account_number,
        ACCOUNTS.c.account_type,
        ACCOUNTS.c.currency,
        ACCOUNTS.c.balance,
        ACCOUNTS.c.status,
        ACCOUNTS.c.version,
        ACCOUNTS.c.user_id,
        ACCOUNTS.c.created_at,
        ACCOUNTS.c.updated_at,
        USERS.c.username.label("holder_username"),
        USERS.c.full_name.label("holder_name"),
    ).select_from(ACCOUNTS.join(USERS, USERS.c.id == ACCOUNTS.c.user_id))


def _holder_matches(search: Search) -> ColumnElement[bool]:
    """A user whose username starts with the search, or (3 characters on) whose name contains it."""
    by_username = _in_prefix(USERS.c.username, search.text.lower())
    contains = search.contains
    return by_username if contains is None else or_(by_username, USERS.c.full_name.ilike(contains))


def account_statements(search: Search | None, window: Window) -> list[Select[Any]]:
    """The statements of one page of accounts: number prefix, and holder username or name."""
    key = ACCOUNTS.c.account_number
    if search is None:
        return [keyset(_accounts(), key, window)]
    return [
        keyset(_accounts().where(_in_prefix(key, search.text.upper())), key, window),
        keyset(_accounts().where(_holder_matches(search)), key, window),
    ]


async def list_accounts(session: AsyncSession, *, search: Search | None, window: Window) -> Page:
    return await _list(
        session,
        account_statements(search, window),
        window,
        lambda row: row.account_number,
        "account",
        "accounts",
        search is not None,
    )


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Any:
    """Raises NotFound."""
    found = (await _rows(session, _accounts().where(ACCOUNTS.c.id == account_id)))[:1]
    if not found:
        raise NotFound("No account has this id")
    return found[0]


def ledger_statement(account_id: uuid.UUID, window: Window) -> Select[Any]:
    """One page of an account's ledger, newest first: a range of the index (account_id, id)."""
    counterparty = ACCOUNTS.alias("counterparty")
    statement = (
        select(
            LEDGER.c.id,
            LEDGER.c.amount,
            LEDGER.c.balance_after,
            LEDGER.c.currency,
            LEDGER.c.reference,
            LEDGER.c.created_at,
            LEDGER.c.action_id,
            LEDGER.c.counterparty_account_id,
            counterparty.c.account_number.label("counterparty_number"),
        )
        .select_from(LEDGER.outerjoin(counterparty, counterparty.c.id == LEDGER.c.counterparty_account_id))
        .where(LEDGER.c.account_id == account_id)
    )
    # newest first: the next page holds smaller ids, the previous one larger
    if window.backwards:
        statement = statement.where(LEDGER.c.id > int(window.before or 0)).order_by(LEDGER.c.id.asc())
    else:
        if window.after is not None:
            statement = statement.where(LEDGER.c.id < int(window.after))
        statement = statement.order_by(LEDGER.c.id.desc())
    return statement.limit(_limit(window))


async def ledger(session: AsyncSession, account_id: uuid.UUID, window: Window) -> Page:
    rows = await _rows(session, ledger_statement(account_id, window))
    return _page(rows, window, lambda row: str(row.id), "ledger")


# --- users --------------------------------------------------------------------------------------------


def _users() -> Select[Any]:
    return select(
        USERS.c.id,
        USERS.c.username,
        USERS.c.email,
        USERS.c.full_name,
        USERS.c.roles,
        USERS.c.is_active,
        (USERS.c.password_hash.is_(None)).label("awaiting_activation"),
        USERS.c.version,
        USERS.c.last_login_at,
        USERS.c.created_at,
        USERS.c.updated_at,
    )


def user_statements(search: Search | None, window: Window) -> list[Select[Any]]:
    """The statements of one page of users: username prefix, and name containing the search."""
    key = USERS.c.username
    if search is None:
        return [keyset(_users(), key, window)]
    statements = [keyset(_users().where(_in_prefix(key, search.text.lower())), key, window)]
    if search.contains is not None:
        statements.append(keyset(_users().where(USERS.c.full_name.ilike(search.contains)), key, window))
    return statements


async def list_users(session: AsyncSession, *, search: Search | None, window: Window) -> Page:
    return await _list(
        session,
        user_statements(search, window),
        window,
        lambda row: row.username,
        "user",
        "users",
        search is not None,
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> Any:
    """Raises NotFound."""
    found = (await _rows(session, _users().where(USERS.c.id == user_id)))[:1]
    if not found:
        raise NotFound("No user has this id")
    return found[0]


USER_ACCOUNTS_SHOWN = 20


async def accounts_of(session: AsyncSession, user_id: uuid.UUID) -> Page:
    """The user's first accounts by number (a user page lists a few; the accounts list finds all)."""
    statement = keyset(
        _accounts().where(ACCOUNTS.c.user_id == user_id),
        ACCOUNTS.c.account_number,
        Window(limit=USER_ACCOUNTS_SHOWN),
    )
    return _page(await _rows(session, statement), Window(limit=USER_ACCOUNTS_SHOWN), _number, "account")


def _number(row: Any) -> str:
    return str(row.account_number)


# --- promotions ---------------------------------------------------------------------------------------


def _promotions() -> Select[Any]:
    return select(PROMOTIONS)


def promotion_statements(search: Search | None, window: Window) -> list[Select[Any]]:
    """The statements of one page of promotions: code prefix, and name containing the search."""
    key = PROMOTIONS.c.code
    if search is None:
        return [keyset(_promotions(), key, window)]
    statements = [keyset(_promotions().where(_in_prefix(key, search.text.upper())), key, window)]
    if search.contains is not None:
        statements.append(keyset(_promotions().where(PROMOTIONS.c.name.ilike(search.contains)), key, window))
    return statements


async def list_promotions(session: AsyncSession, *, search: Search | None, window: Window) -> Page:
    return await _list(
        session,
        promotion_statements(search, window),
        window,
        lambda row: row.code,
        "promotion",
        "promotions",
        search is not None,
    )


async def get_promotion(session: AsyncSession, promotion_id: uuid.UUID) -> Any:
    """Raises NotFound."""
    found = (await _rows(session, _promotions().where(PROMOTIONS.c.id == promotion_id)))[:1]
    if not found:
        raise NotFound("No promotion has this id")
    return found[0]


@dataclass(frozen=True)
class Listed:
    """A page of records with the pending changes to each of its rows."""

    page: Page
    pending: dict[uuid.UUID, list[PendingChange]] = field(default_factory=dict)


async def with_pending(session: AsyncSession, page: Page) -> Listed:
    return Listed(page, await pending_changes(session, [row.id for row in page.rows]))
