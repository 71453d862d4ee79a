"""CSRF protection for cookie-authenticated requests; bearer-token calls carry no ambient credential.

Litestar's double-submit token (a random value and its HMAC, in a cookie and in the request) is signed
here with a key derived from the browser session's own CSRF key, kept in the session data: a token
works only for the session it was issued to, and one taken before login (or from another session)
fails after it. The login handler gives the new session a fresh key (`new_csrf_key`); the response
that changes the session's key, login or logout, carries a fresh token cookie with it.
"""

import hashlib
import hmac
import secrets
from secrets import compare_digest
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.datastructures.cookie import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import (
    CSRF_SECRET_LENGTH,
    CSRFMiddleware,
    generate_csrf_hash,
    generate_csrf_token,
)
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

CSRF_HEADER = "x-csrftoken"
CSRF_SESSION_KEY = "csrf_key"
"""The session data's entry holding the session's own CSRF key."""


def new_csrf_key() -> dict[str, str]:
    """Session data binding the session's CSRF tokens to a key of its own (put it in at login)."""
    return {CSRF_SESSION_KEY: secrets.token_hex(16)}


def _session_csrf_key(scope: Scope) -> str:
    """The session's CSRF key; '' for a visitor without a session (or a session from before the keys)."""
    session = scope.get("session")
    return str(session.get(CSRF_SESSION_KEY, "")) if isinstance(session, dict) else ""


class BearerExemptCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check with session-bound tokens, skipped for requests the auth middleware accepted
    by their API token.

    A browser never adds an Authorization header on its own, so such a request cannot be forged
    cross-site; and a request with that header is judged by its token alone, never by its cookies.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("auth") == "token"
            or should_bypass_middleware(
                scope=scope,
                scopes=self.scopes,
                exclude_opt_key=self.config.exclude_from_csrf_key,
                exclude_path_pattern=self.exclude,
            )
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session_key = _session_csrf_key(scope)
        secret = self._secret_for(session_key)
        cookie = request.cookies.get(self.config.cookie_name)
        cookie_valid = cookie is not None and self._signed_value(cookie, secret) is not None
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            if "session" not in scope:
                # a path the session layer skips (static files) cannot tell which session the cookie
                # belongs to: it must neither judge nor replace it
                await self.app(scope, receive, send)
                return
            # a cookie minted for another session (or before login) is replaced, never reused
            fresh = None if cookie_valid else generate_csrf_token(secret=secret)
            state.csrf_token = cookie if cookie_valid else fresh
            await self.app(scope, receive, self._reissuing(send, scope, session_key, fresh))
            return
        submitted = await self._submitted_token(request)
        if not (cookie_valid and submitted and self._same_token(submitted, cookie, secret)):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = submitted
        await self.app(scope, receive, self._reissuing(send, scope, session_key, None))

    def _secret_for(self, session_key: str) -> str:
        return hmac.new(
            self.config.secret.encode(), f"csrf:{session_key}".encode(), hashlib.sha256
        ).hexdigest()

    async def _submitted_token(self, request: Any) -> str | None:
        token = request.headers.get(self.config.header_name)
        content_type, _ = request.content_type
        if not token and content_type in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            token = (await request.form()).get("_csrf_token")
        return str(token) if token else None

    @staticmethod
    def _signed_value(token: str, secret: str) -> str | None:
        if len(token) < CSRF_SECRET_LENGTH + 1:
            return None
        value, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return value if compare_digest(signature, generate_csrf_hash(token=value, secret=secret)) else None

    def _same_token(self, submitted: str, cookie: str, secret: str) -> bool:
        ours, theirs = self._signed_value(submitted, secret), self._signed_value(cookie, secret)
        return ours is not None and theirs is not None and compare_digest(ours, theirs)

    def _reissuing(self, send: Send, scope: Scope, session_key: str, fresh: str | None) -> Send:
        """Sends a new token cookie with the response when one was minted, or when the request changed
        the session's key (login, logout): the old token is then worthless."""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                now_key = _session_csrf_key(scope)
                token = (
                    fresh if now_key == session_key else generate_csrf_token(secret=self._secret_for(now_key))
                )
                if token is not None:
                    self._set_token_cookie(message, token)
            await send(message)

        return send_wrapper

    def _set_token_cookie(self, message: Message, token: str) -> None:
        cookie = Cookie(
            key=self.config.cookie_name,
            value=token,
            path=self.config.cookie_path,
            secure=self.config.cookie_secure,
            httponly=self.config.cookie_httponly,
            samesite=self.config.cookie_samesite,
            domain=self.config.cookie_domain,
        )
        MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))


def csrf_config(*, secret: str, secure: bool) -> CSRFConfig:
    return CSRFConfig(
        secret=secret,
        cookie_name="mc_csrftoken",
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_samesite="lax",
        cookie_httponly=True,  # pages get the token from the template: no script needs the cookie
        exclude=["^/health$", "^/static/"],
    )
