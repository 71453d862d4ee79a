"""Exception handlers: every error becomes the API's envelope with the right status, never a bare 500."""

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.errors import DomainError

log = logging.getLogger(__name__)


def _envelope(status_code: int, error: str, details: list[dict[str, str]] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"success": False, "error": error}
    if details:
        body["details"] = details
    return Response(content=body, status_code=status_code, media_type=MediaType.JSON)


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return Response(content=exc.envelope(), status_code=exc.status_code, media_type=MediaType.JSON)


def _validation_details(extra: Any) -> list[dict[str, str]]:
    details = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            field = str(item.get("key") or item.get("source") or "body")
            details.append({"field": field, "message": str(item.get("message", "Invalid value"))})
    return details


def validation_error_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    details = _validation_details(exc.extra)
    message = "The request is not valid" if details else (exc.detail or "The request is not valid")
    return _envelope(400, message, details or None)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _envelope(exc.status_code, exc.detail, _validation_details(exc.extra) or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _envelope(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
