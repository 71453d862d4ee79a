"""Security headers on every response, error pages and static files included (a before_send hook)."""

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

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
# the OpenAPI viewers load their scripts from elsewhere; they show no user data
_NO_CSP_PREFIX = "/schema"
# only the static assets are the same for everyone; everything else may show personal data or carry
# a CSRF token, so a browser must not keep it (for Back after logout, for instance)
_CACHEABLE_PREFIX = "/static/"


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    if not scope["path"].startswith(_NO_CSP_PREFIX):
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if not scope["path"].startswith(_CACHEABLE_PREFIX) and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
