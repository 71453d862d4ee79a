"""Application assembly: the one module that wires controllers, middleware and plugins."""

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Response, get
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.template import TemplateConfig

from app.accounts.auth import PUBLIC_PATHS, AuthMiddleware
from app.accounts.controller import ActivationController, LoginController
from app.accounts.sessions import PostgresSessionStore, RotatingSessionConfig, session_config
from app.accounts.throttle import LoginThrottle
from app.actions import REGISTRY
from app.audit import sealing_in_background
from app.db import Database, database_answers, provide_db_session, resolve_database_url
from app.mail import deliver_periodically
from app.models import ActionStatus
from app.people.api import PeopleApiController, TokenApiController
from app.people.pages import PeoplePagesController, TokenPagesController
from app.records.api import RecordsApiController
from app.records.pages import RecordsPagesController
from app.settings import PROJECT_ROOT, Settings, get_settings
from app.web.csrf import BearerExemptCSRFMiddleware, csrf_config
from app.web.errors import EXCEPTION_HANDLERS
from app.web.headers import security_headers
from app.web.logs import redact_secrets_in_logs
from app.web.mail import send_mail_after_response
from app.web.openapi import render_plugins
from app.web.rendering import TEMPLATE_FILTERS, add_vary_header, url_for
from app.web.stopping import ServerStopping
from app.workflow.api import ActionTypesApiController, WorkflowApiController
from app.workflow.bulk_routes import BulkReviewApiController, BulkReviewPagesController
from app.workflow.controller import (
    ActionPagesController,
    HomeController,
    PoliciesController,
    RequestController,
    ResubmitController,
)
from app.workflow.expiry import sweeping_in_background
from app.workflow.export import ActionsExportApiController, HistoryExportController
from app.workflow.listener import ReconnectingChannelsBackend
from app.workflow.mine import MyRequestsController, WithdrawController
from app.workflow.notify import QUEUE_CHANNEL
from app.workflow.queue import QueueController

log = logging.getLogger(__name__)

READY_WITHIN_SECONDS = 3.0


@get("/health", exclude_from_auth=True, tags=["system"], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok", "timestamp": datetime.now(UTC).isoformat()}


@get(
    "/ready",
    exclude_from_auth=True,
    tags=["system"],
    summary="Readiness",
    description="200 when the database answers within a few seconds; 503 while it does not.",
    responses={503: ResponseSpec(data_container=dict[str, str], description="The database is unavailable")},
)
async def ready(state: State) -> Response[dict[str, str]]:
    if await database_answers(state.db, within=READY_WITHIN_SECONDS):
        return Response({"status": "ready"})
    return Response(
        {"status": "unavailable", "error": "The database is unavailable"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Maker-checker workflow API",
        version="1.0.0",
        path="/schema",
        # each controller that needs authentication says so (app.workflow.api); /health needs none
        components=Components(security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}),
        render_plugins=render_plugins(),
    )


def _templates() -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters.update(TEMPLATE_FILTERS)
        # the domain's vocabulary, given to templates here so that app.web depends on no domain module
        engine.engine.globals.update({"action_types": REGISTRY, "statuses": list(ActionStatus)})
        # the moment a page was made: its live notices start from there (app.workflow.mine)
        engine.engine.globals["now_iso"] = lambda: datetime.now(UTC).isoformat()
        engine.engine.trim_blocks = engine.engine.lstrip_blocks = True
        # templates do not change under a running server; reloading checked each one's file on
        # every use, once per row for the queue's included row templates
        engine.engine.auto_reload = False
        engine.register_template_callable("url_for", url_for)

    return TemplateConfig(
        directory=PROJECT_ROOT / "templates", engine=JinjaTemplateEngine, engine_callback=configure
    )


def _route_handlers() -> list[Any]:
    return [
        health,
        ready,
        WorkflowApiController,
        ActionTypesApiController,
        BulkReviewApiController,
        BulkReviewPagesController,
        LoginController,
        ActivationController,
        HomeController,
        RequestController,
        ActionPagesController,
        ResubmitController,
        PoliciesController,
        QueueController,
        HistoryExportController,
        ActionsExportApiController,
        MyRequestsController,
        WithdrawController,
        PeoplePagesController,
        TokenPagesController,
        PeopleApiController,
        TokenApiController,
        RecordsPagesController,
        RecordsApiController,
        create_static_files_router(
            path="/static", directories=[PROJECT_ROOT / "static"], include_in_schema=False
        ),
    ]


def _middleware(settings: Settings, sessions: RotatingSessionConfig) -> list[Any]:
    """Outermost first: the session is loaded before authentication, which runs before CSRF."""
    return [
        sessions.middleware,
        DefineMiddleware(AuthMiddleware, exclude=PUBLIC_PATHS),
        DefineMiddleware(
            BearerExemptCSRFMiddleware,
            config=csrf_config(secret=settings.resolved_secret_key(), secure=settings.secure_cookies),
        ),
    ]


def create_app(**overrides: Any) -> Litestar:
    settings = get_settings()
    settings.check()
    redact_secrets_in_logs()
    db = Database.connect(resolve_database_url(settings), pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def database_lifespan(_: Litestar) -> AsyncGenerator[None, None]:
        # in the background: a mail server that never answers must not hold up start-up
        retries = settings.mail_retry_seconds > 0
        mail = asyncio.create_task(deliver_periodically(db, settings)) if retries else None
        try:
            async with (
                sealing_in_background(db.url, settings.audit_seal_interval),
                sweeping_in_background(db.url, settings.expiry_sweep_seconds),
            ):
                yield
        finally:
            if mail is not None:
                mail.cancel()
                await asyncio.gather(mail, return_exceptions=True)
            await db.dispose()

    sessions = session_config(secure=settings.secure_cookies)
    stopping = ServerStopping()
    return Litestar(
        route_handlers=_route_handlers(),
        plugins=[
            HTMXPlugin(),  # first: it replaces signature_types
            ChannelsPlugin(backend=ReconnectingChannelsBackend(db.url), channels=[QUEUE_CHANNEL]),
        ],
        middleware=_middleware(settings, sessions),
        stores={"sessions": PostgresSessionStore(db)},
        state=State({"db": db, "stopping": stopping, "login_throttle": LoginThrottle()}),
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        after_request=add_vary_header,
        after_response=send_mail_after_response,
        before_send=[security_headers(hsts=settings.is_production)],
        lifespan=[database_lifespan, stopping.watch_signals],
        template_config=_templates(),
        openapi_config=_openapi(),
        # every body here is small (forms, action payloads); a larger one is refused before it is read
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        **overrides,
    )
