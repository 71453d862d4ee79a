"""Security headers on every response, error pages and static files included (a before_send hook)."""

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",  # Pico CSS draws its select arrows with data: images
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # activation links carry their token in the path: never hand it to another site
    "Referrer-Policy": "same-origin",
}
# the OpenAPI viewers (served from static/vendor) inject their own styles, and Redoc runs its search in a
# blob: worker; they show no user data, so their pages alone get these allowances
SCHEMA_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
_SCHEMA_PREFIX = "/schema"
# only the static assets are the same for everyone; everything else may show personal data or carry
# a CSRF token, so a browser must not keep it (for Back after logout, for instance)
_CACHEABLE_PREFIX = "/static/"


STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
"""Production only: browsers then refuse plain HTTP to this host for a year (a development server on
http://localhost must stay reachable)."""


def security_headers(*, hsts: bool) -> BeforeMessageSendHookHandler:
    """The before_send hook; with hsts, every response also carries Strict-Transport-Security."""

    async def add_headers(message: Message, scope: Scope) -> None:
        await add_security_headers(message, scope)
        if hsts and message["type"] == "http.response.start":
            MutableScopeHeaders.from_message(message)["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    return add_headers


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    schema_page = scope["path"].startswith(_SCHEMA_PREFIX)
    headers["Content-Security-Policy"] = (
        SCHEMA_CONTENT_SECURITY_POLICY if schema_page else CONTENT_SECURITY_POLICY
    )
    if not scope["path"].startswith(_CACHEABLE_PREFIX) and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
