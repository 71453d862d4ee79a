"""CSRF protection for cookie-authenticated requests; bearer-token calls carry no ambient credential."""

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

CSRF_HEADER = "x-csrftoken"


class BearerExemptCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, skipped for requests that authenticate with an Authorization header.

    A browser never adds that header on its own, so such a request cannot be forged cross-site;
    the auth middleware then judges the request by the token alone, never by its cookies.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"authorization" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def csrf_config(*, secret: str, secure: bool) -> CSRFConfig:
    return CSRFConfig(
        secret=secret,
        cookie_name="mc_csrftoken",
        header_name=CSRF_HEADER,
        cookie_secure=secure,
        cookie_samesite="lax",
        cookie_httponly=True,  # pages get the token from the template: no script needs the cookie
        exclude=["^/health$"],
    )
