"""Application assembly: the one module that wires controllers, middleware and plugins."""

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, get
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from app.accounts.auth import PUBLIC_PATHS, AuthMiddleware
from app.db import Database, provide_db_session, resolve_database_url
from app.settings import get_settings
from app.web.errors import EXCEPTION_HANDLERS
from app.workflow.api import WorkflowApiController


@get("/health", exclude_from_auth=True, tags=["system"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok", "timestamp": datetime.now(UTC).isoformat()}


@asynccontextmanager
async def database_lifespan(app: Litestar) -> AsyncGenerator[None, None]:
    db = Database.connect(resolve_database_url(get_settings()))
    app.state.db = db
    try:
        yield
    finally:
        await db.dispose()


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Maker-checker workflow API",
        version="1.0.0",
        path="/schema",
        components=Components(security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"BearerToken": []}],
    )


def create_app(**overrides: Any) -> Litestar:
    settings = get_settings()
    settings.check()
    return Litestar(
        route_handlers=[health, WorkflowApiController],
        middleware=[DefineMiddleware(AuthMiddleware, exclude=PUBLIC_PATHS)],
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[database_lifespan],
        openapi_config=_openapi(),
        debug=False,
        **overrides,
    )
