"""Browser sessions kept in PostgreSQL, so that every app process sees the same ones.

The session id is rotated at login (session-fixation defence) and sessions expire after
30 idle minutes; the 12-hour absolute limit is checked by the auth middleware.
"""

import json
import re
import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.dataclass import extract_dataclass_items
from sqlalchemy import text

from app.db import Database

SESSION_COOKIE = "mc_session"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
ROTATE_FLAG = "_rotate_session_id"
_ROTATED_ID = "maker_checker.rotated_session_id"
_LOADED = "maker_checker.loaded_session"
_BACKGROUND = "maker_checker.background_request"
BACKGROUND_HEADER = "x-background-refresh"
"""Sent by the live queue's own refreshes (static/js/app.js), which must not keep a session alive."""


_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
"""What a session id can look like (ours are hex); anything else in the cookie is no session."""


def is_session_id(value: str | None) -> bool:
    return value is not None and _SESSION_ID.fullmatch(value) is not None


def _seconds(value: int | timedelta | None) -> int | None:
    return int(value.total_seconds()) if isinstance(value, timedelta) else value


def _user_of(value: bytes) -> UUID | None:
    try:
        user_id = json.loads(value).get("user_id")
        return UUID(str(user_id)) if user_id else None
    except (ValueError, AttributeError):
        return None


class PostgresSessionStore(Store):
    """The `sessions` table as a Litestar Store; rows know their user so they can be ended together."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        seconds = _seconds(expires_in) or int(IDLE_TIMEOUT.total_seconds())
        async with self.db.autocommit() as conn:  # one statement: no BEGIN and COMMIT
            await conn.execute(
                text(
                    "INSERT INTO sessions (id, user_id, data, created_at, expires_at) "
                    "VALUES (:id, :user_id, :data, now(), now() + make_interval(secs => :seconds)) "
                    "ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, data = EXCLUDED.data, "
                    "expires_at = EXCLUDED.expires_at"
                ),
                {"id": key, "user_id": _user_of(data), "data": data, "seconds": seconds},
            )

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        if not is_session_id(key):
            return None  # a forged or mangled cookie (a NUL byte, say) is simply no session
        seconds = _seconds(renew_for)
        async with self.db.autocommit() as conn:  # one statement: no BEGIN and COMMIT
            if seconds:
                row = await conn.execute(
                    text(
                        "UPDATE sessions SET expires_at = now() + make_interval(secs => :seconds) "
                        "WHERE id = :id AND expires_at > now() RETURNING data"
                    ),
                    {"id": key, "seconds": seconds},
                )
            else:
                row = await conn.execute(
                    text("SELECT data FROM sessions WHERE id = :id AND expires_at > now()"), {"id": key}
                )
            data = row.scalar_one_or_none()
        return bytes(data) if data is not None else None

    async def delete(self, key: str) -> None:
        if not is_session_id(key):
            return
        async with self.db.autocommit() as conn:  # one statement: no BEGIN and COMMIT
            await conn.execute(text("DELETE FROM sessions WHERE id = :id"), {"id": key})

    async def delete_all(self) -> None:
        async with self.db.autocommit() as conn:  # one statement: no BEGIN and COMMIT
            await conn.execute(text("DELETE FROM sessions"))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        if not is_session_id(key):
            return None
        async with self.db.autocommit() as conn:  # one statement: no BEGIN and COMMIT
            row = await conn.execute(
                text("SELECT extract(epoch FROM expires_at - now())::int FROM sessions WHERE id = :id"),
                {"id": key},
            )
            seconds = row.scalar_one_or_none()
        return seconds if seconds is not None and seconds > 0 else None


class RotatingSessionBackend(ServerSideSessionBackend):
    """Issues a fresh session id, and forgets the old one, when the session asks for it (at login).

    A session that a request did not change is not written back: reading it already renewed its
    expiry, so only the cookie is sent again.
    """

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        background = connection.headers.get(BACKGROUND_HEADER) == "true"
        session_id = connection.cookies.get(self.config.key)
        if background and session_id:
            # a page refreshing itself is not the person being active: no renewal of the idle deadline
            raw = await self.config.get_store_from_app(connection.scope["app"]).get(session_id)
            data = self.deserialize_data(raw) if raw is not None else {}
        else:
            data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[literal-required]
        connection.scope[_BACKGROUND] = background  # type: ignore[literal-required]
        return data

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        rotated = connection.scope.get(_ROTATED_ID)
        if rotated:
            return rotated  # type: ignore[no-any-return]
        if not is_session_id(connection.cookies.get(self.config.key)):
            # a junk cookie never names a row: the session, if one is made, gets an id of ours
            connection.scope[_ROTATED_ID] = self.generate_session_id()  # type: ignore[literal-required]
            return connection.scope[_ROTATED_ID]  # type: ignore[literal-required,no-any-return]
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if isinstance(scope_session, dict) and not scope_session:
            # anonymous visitors get no session row and no cookie; an emptied session is ended
            if not connection.cookies.get(self.config.key):
                return
            scope_session = Empty
        if scope_session is Empty:
            await self._end_session(message, connection)
            return
        if isinstance(scope_session, dict) and scope_session.pop(ROTATE_FLAG, False):
            old_id = connection.cookies.get(self.config.key)
            if old_id:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
            connection.scope[_ROTATED_ID] = secrets.token_hex(self.config.session_id_bytes)  # type: ignore[literal-required]
        elif isinstance(scope_session, dict) and scope_session == connection.scope.get(_LOADED):
            if not connection.scope.get(_BACKGROUND):
                self._refresh_cookie(message, connection)
            return
        await super().store_in_message(scope_session, message, connection)

    async def _end_session(self, message: Message, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Forget the session and expire its cookie. Litestar's own deletion keeps the configured
        Max-Age, which outranks its past Expires: the browser would keep the cookie for 30 minutes."""
        await self.delete(
            self.get_session_id(connection), store=self.config.get_store_from_app(connection.scope["app"])
        )
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        cookie = Cookie(value="", key=self.config.key, **(params | {"max_age": 0, "expires": 0}))
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))

    def _refresh_cookie(self, message: Message, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        cookie = Cookie(value=self.get_session_id(connection), key=self.config.key, **params)
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


def has_authorization_header(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope.get("headers", ()))


class TokenSkippingSessionMiddleware(SessionMiddleware):
    """Litestar's session middleware, not run for requests with an Authorization header: those are
    judged by their token alone (app.accounts.auth), so their session would be read for nothing."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_authorization_header(scope):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend

    @property
    def middleware(self) -> DefineMiddleware:
        return DefineMiddleware(TokenSkippingSessionMiddleware, backend=self._backend_class(config=self))


def session_config(*, secure: bool) -> RotatingSessionConfig:
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        max_age=int(IDLE_TIMEOUT.total_seconds()),
        renew_on_access=True,
        secure=secure,
        httponly=True,
        samesite="lax",
        store="sessions",
        exclude=["^/static/", "^/health$"],
    )
