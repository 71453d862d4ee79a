"""Who is calling: a bearer token (scripts) or the browser session (people)."""

import time
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import text

from app.accounts.sessions import ABSOLUTE_TIMEOUT, SESSION_COOKIE
from app.accounts.tokens import active_user, user_for_token
from app.db import Database
from app.models import User

PUBLIC_PATHS = ["^/health$", "^/schema", "^/static/", "^/login$", "^/activate/", "^/favicon.ico$"]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer` header, '' when the header is malformed, None when absent."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """A request with an Authorization header is judged by its token alone; otherwise by its session."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        db: Database = connection.app.state.db
        token = bearer_token(connection)
        if token is not None:
            user = None
            if token:
                async with db.autocommit() as conn:
                    user = await user_for_token(connection=conn, token=token)
            if user is None:
                raise NotAuthorizedException("Invalid or revoked API token")
            return AuthenticationResult(user=user, auth="token")
        user = await _session_user(db, connection)
        if user is None:
            raise NotAuthorizedException("Not authenticated")
        return AuthenticationResult(user=user, auth="session")


async def _end_session(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Delete the session row now: the refusal that follows skips the session middleware."""
    session_id = connection.cookies.get(SESSION_COOKIE)
    if session_id:
        await connection.app.stores.get("sessions").delete(session_id)
    connection.clear_session()


async def _session_user(db: Database, connection: ASGIConnection[Any, Any, Any, Any]) -> User | None:
    if "session" not in connection.scope:
        return None
    data = connection.session or {}
    user_id, auth_at = data.get("user_id"), data.get("auth_at")
    if not user_id or not isinstance(auth_at, int | float):
        return None
    if time.time() - auth_at > ABSOLUTE_TIMEOUT.total_seconds():
        await _end_session(connection)  # past the absolute limit: log in again, however active
        return None
    try:
        parsed = uuid.UUID(str(user_id))
    except ValueError:
        return None
    async with db.autocommit() as conn:
        return await active_user(connection=conn, user_id=parsed)


async def still_signed_in(*, db: Database, user_id: uuid.UUID, session_id: str | None) -> bool:
    """Whether a long-lived request (the live queue's stream) may go on: the user is active and,
    for a browser, the session has not ended (logout, timeout, disabling)."""
    async with db.engine.connect() as conn:
        active = (
            await conn.execute(text("SELECT is_active FROM users WHERE id = :id"), {"id": user_id})
        ).scalar_one_or_none()
        if not active:
            return False
        if session_id is None:
            return True
        live = await conn.execute(
            text("SELECT 1 FROM sessions WHERE id = :id AND expires_at > now()"), {"id": session_id}
        )
        return live.scalar_one_or_none() is not None
