"""Exception handlers: API callers get the JSON envelope, people get a page; never a bare 500."""

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from app.db import is_disconnect
from app.errors import MAX_REPORTED_ERRORS, DomainError

log = logging.getLogger(__name__)

# error handlers' responses skip after_request hooks; these answers too depend on HX-Request
_VARY = {"Vary": "HX-Request"}

_MAX_FIELD_NAME = 100  # a field name is echoed back at most this long (unknown keys are the sender's)

_MACHINE_PREFIXES = ("/api/", "/health", "/ready", "/schema", "/queue/events", "/my-requests/events")


def is_api_request(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith(_MACHINE_PREFIXES)


def _envelope(status_code: int, error: str, details: list[dict[str, str]] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"success": False, "error": error}
    if details:
        body["details"] = details
    return Response(content=body, status_code=status_code, media_type=MediaType.JSON)


def _page(request: Request[Any, Any, Any], status_code: int, message: str) -> Response[Any]:
    if status_code == HTTP_401_UNAUTHORIZED:
        return _to_login(request)
    from app.web.rendering import page_context, wants_fragment

    context = page_context(request, {"status": status_code, "message": message})
    # an htmx fragment request gets a message to swap into its target, not a whole page
    template = "errors/_error.html" if wants_fragment(request) else "errors/error.html"
    return Template(template, context=context, status_code=status_code, headers=_VARY)


def _to_login(request: Request[Any, Any, Any]) -> Response[Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login?next=" + quote(here, safe="/")
    if request.headers.get("hx-request") == "true":
        # a 3xx would be followed inside the fragment target; ask htmx to navigate instead
        return Response(
            content="", status_code=200, headers={"HX-Redirect": target, **_VARY}, media_type=MediaType.HTML
        )
    return Redirect(target, status_code=303, headers=_VARY)


def _respond(request: Request[Any, Any, Any], status_code: int, message: str, details: Any = None) -> Any:
    if is_api_request(request):
        return _envelope(status_code, message, details)
    return _page(request, status_code, message)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Any:
    if is_api_request(request):
        # the error's own envelope: some carry more than details (a 409's pendingActionId)
        return Response(content=exc.envelope(), status_code=exc.status_code, media_type=MediaType.JSON)
    return _page(request, exc.status_code, exc.message)


def _validation_details(extra: Any) -> list[dict[str, str]]:
    """The validator's problems as details: the first MAX_REPORTED_ERRORS, then a count of the rest."""
    items = [item for item in extra if isinstance(item, dict)] if isinstance(extra, list) else []
    details = []
    for item in items[:MAX_REPORTED_ERRORS]:
        field = str(item.get("key") or item.get("source") or "body")[:_MAX_FIELD_NAME]
        message = str(item.get("message", "Invalid value")).removeprefix("Value error, ")
        if message == repr(field):  # a missing value is reported as the KeyError of its name
            message = "Required"
            if field == "data" and item.get("source") == "body":
                field, message = "body", "A JSON body is required"
        details.append({"field": field, "message": message})
    if len(items) > MAX_REPORTED_ERRORS:
        more = len(items) - MAX_REPORTED_ERRORS
        details.append({"field": "body", "message": f"{more} more problems not listed"})
    return details


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Any:
    details = _validation_details(exc.extra)
    message = "The request is not valid" if details else (exc.detail or "The request is not valid")
    return _respond(request, 400, message, details or None)


def _about_the_body(message: str) -> list[dict[str, str]]:
    """Details for a body that cannot be read at all: no field of it can be named, so the body is."""
    return [{"field": "body", "message": message}]


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Any:
    details = _validation_details(exc.extra)
    if not details and isinstance(exc.__cause__, SerializationException):
        # malformed JSON, NaN, a lone surrogate: Litestar's 400 carries the decoder's words only
        details = _about_the_body(exc.detail)
    return _respond(request, exc.status_code, exc.detail, details or None)


def _size(limit: int) -> str:
    return f"{limit // 1024} KB" if limit % 1024 == 0 else f"{limit} bytes"


def oversize_body_handler(request: Request[Any, Any, Any], _: RequestEntityTooLarge) -> Any:
    # raised by the first read of the body (the CSRF check's, for a form), before any of it is parsed
    limit = request.route_handler.resolve_request_max_body_size()
    allowed = f"at most {_size(limit)}" if limit else "less"
    return _respond(request, 413, f"The request is too large: send {allowed}")


def nesting_error_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Any:
    # the JSON decoder recurses once per level: a body nested thousands deep is bad input, not a crash
    log.warning("refused a too deeply nested request on %s %s", request.method, request.url.path)
    message = "The request body is nested too deeply"
    return _respond(request, 400, message, _about_the_body(message))


def undecodable_body_handler(request: Request[Any, Any, Any], _: UnicodeDecodeError) -> Any:
    message = "The request body is not valid UTF-8"
    return _respond(request, 400, message, _about_the_body(message))


DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"
RETRY_AFTER_SECONDS = 5


def _database_unavailable(request: Request[Any, Any, Any], exc: BaseException) -> Any:
    """A database that went away (stopped, restarting, connections terminated) answers 503, which
    clients may retry, with one line in the log rather than a traceback."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    response = _respond(request, HTTP_503_SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Any:
    if is_disconnect(exc):
        return _database_unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    RequestEntityTooLarge: oversize_body_handler,
    HTTPException: http_error_handler,
    RecursionError: nesting_error_handler,
    UnicodeDecodeError: undecodable_body_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
