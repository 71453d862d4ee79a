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
