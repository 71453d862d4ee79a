"""Page-or-fragment rendering and the helpers templates use."""

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response
from litestar.response import Template


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """An htmx request that is not a boosted navigation wants only the fragment."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def current_user(request: Request[Any, Any, Any]) -> Any:
    """The authenticated user, or None on public pages (the auth middleware did not run)."""
    return request.scope.get("user")


def render(
    request: Request[Any, Any, Any],
    *,
    page: str,
    fragment: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Template:
    as_fragment = wants_fragment(request)
    return Template(
        template_name=fragment if as_fragment else page,
        context=page_context(request, context | {"as_fragment": as_fragment}),
        status_code=status_code,
    )


def page_context(request: Request[Any, Any, Any], context: dict[str, Any]) -> dict[str, Any]:
    # action_types and statuses are Jinja globals, set where the app is assembled (app.main)
    return {"user": current_user(request)} | context


async def add_vary_header(response: Response[Any]) -> Response[Any]:
    """The same URL answers a page or a fragment depending on HX-Request: caches must know.

    Async on purpose: Litestar runs a synchronous after_request hook in a worker thread."""
    response.headers["Vary"] = "HX-Request"
    return response


def age(moment: datetime | None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 d ago'."""
    if moment is None:
        return ""
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def timestamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


TEMPLATE_FILTERS = {"age": age, "timestamp": timestamp}
