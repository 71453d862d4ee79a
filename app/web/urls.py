"""Absolute links handed out to people (activation links)."""

from typing import Any

from litestar import Request

from app.settings import get_settings


def public_base_url(request: Request[Any, Any, Any]) -> str:
    """PUBLIC_URL when configured (behind a proxy), else the URL this request came in on."""
    return get_settings().public_url or str(request.base_url).rstrip("/")
