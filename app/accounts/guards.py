"""Route guards by role. The services check roles again, so no path around them exists."""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from app.models import Role, User


def _require(connection: ASGIConnection[Any, Any, Any, Any], role: Role) -> None:
    user = connection.user
    if not isinstance(user, User) or not user.has_role(role):
        raise PermissionDeniedException(f"This needs the {role.value} role")


# async on purpose: Litestar runs a synchronous guard in a worker thread, a thread hop per request
async def requires_maker(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _require(connection, Role.MAKER)


async def requires_checker(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _require(connection, Role.CHECKER)


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    _require(connection, Role.ADMIN)


def _require_any(connection: ASGIConnection[Any, Any, Any, Any], roles: tuple[Role, ...], what: str) -> None:
    user = connection.user
    if not isinstance(user, User) or not any(user.has_role(role) for role in roles):
        raise PermissionDeniedException(f"This needs the {what} role")


async def requires_submitter(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Makers, and admins (who make policy changes); the service checks each type's maker role."""
    _require_any(connection, (Role.MAKER, Role.ADMIN), "maker or admin")


async def requires_reviewer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Checkers, and admins (who review policy changes); the service checks the pinned policy's role."""
    _require_any(connection, (Role.CHECKER, Role.ADMIN), "checker or admin")
