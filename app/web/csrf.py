"""CSRF protection for cookie-authenticated requests; bearer-token calls carry no ambient credential."""

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send

CSRF_HEADER = "x-csrftoken"


class BearerExemptCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF check, skipped for requests the auth middleware accepted by their API token.

    A browser never adds an Authorization header on its own, so such a request cannot be forged
    cross-site; and a request with that header is judged by its token alone, never by its cookies.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("auth") == "token":
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
