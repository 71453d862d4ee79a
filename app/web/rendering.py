"""Page-or-fragment rendering and the helpers templates use."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import NoRouteMatchFoundException
from litestar.response import Template
from markupsafe import Markup, escape


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


def _as_moment(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None or value.tzinfo is None:
        return None
    return value


def local_time(value: datetime | str | None, *, relative: bool = False) -> Markup | str:
    """A <time> in UTC with the UTC value as its title; static/js/app.js shows it in the viewer's zone
    (data-local) or as an age it keeps current (data-age)."""
    moment = _as_moment(value)
    if moment is None:
        return "" if value is None else str(value)
    utc = moment.astimezone(UTC)
    text = age(utc) if relative else utc.strftime("%Y-%m-%d %H:%M UTC")
    marker = "data-age" if relative else "data-local"
    # an f-string of escaped parts: Markup.format's escaping formatter cost more than the rest of
    # a queue row's Python work (a page shows two of these per row)
    title = utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup(
        f'<time datetime="{escape(utc.isoformat())}" title="{escape(title)}" {marker}>{escape(text)}</time>'
    )


def local_age(value: datetime | str | None) -> Markup | str:
    return local_time(value, relative=True)


_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def humanise_key(key: str) -> str:
    """'activationExpiresAt' -> 'Activation expires at'; 'userId' -> 'User ID'."""
    words = [word.lower() for word in _WORD.findall(key)] or [key]
    words = ["ID" if word == "id" else word for word in words]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def result_fields(result: dict[str, Any] | None) -> list[tuple[str, str, Any]]:
    """An execution result as (label, kind, value) with kind 'time', 'id' or 'text', for display."""
    fields: list[tuple[str, str, Any]] = []
    for key, value in (result or {}).items():
        if isinstance(value, str) and "T" in value and _as_moment(value) is not None:
            fields.append((humanise_key(key), "time", value))
        elif key.endswith("Id"):
            fields.append((humanise_key(key), "id", value))
        else:
            fields.append((humanise_key(key), "text", value))
    return fields


def change_text(value: Any) -> str:
    """One side of a field's change between versions, as text (a list joined, nothing as "(none)")."""
    if value is None or value == "" or value == []:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


TEMPLATE_FILTERS = {
    "age": age,
    "field_label": humanise_key,
    "change_text": change_text,
    "timestamp": timestamp,
    "local_time": local_time,
    "local_age": local_age,
    "result_fields": result_fields,
}


def _placeholder(name: str) -> str:
    return f"\x00{name}\x00"


@lru_cache(maxsize=1024)
def _path_pattern(app: Litestar, route_name: str, names: tuple[str, ...]) -> str | None:
    """The route's path with a placeholder per parameter; None when a parameter cannot take one
    (a typed parameter other than a string, a UUID or a date)."""
    try:
        return app.route_reverse(route_name, **{name: _placeholder(name) for name in names})
    except NoRouteMatchFoundException:
        return None


def url_for(context: Mapping[str, Any], route_name: str, /, **path_parameters: Any) -> str:
    """Litestar's url_for for templates, with each route's path worked out once: route_reverse
    searched the route table on every call, a tenth of the queue page's rendering time."""
    app = context["request"].app
    pattern = _path_pattern(app, route_name, tuple(sorted(path_parameters)))
    if pattern is None:
        return app.route_reverse(route_name, **path_parameters)
    for name, value in path_parameters.items():
        pattern = pattern.replace(_placeholder(name), str(value))
    return pattern
