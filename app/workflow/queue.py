"""The live pending queue: the page, its rows fragment, and the event stream that refreshes it."""

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated, Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from litestar import Controller, Request, get
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template
from litestar.types import SSEData
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.auth import still_signed_in
from app.accounts.sessions import SESSION_COOKIE
from app.actions import REGISTRY
from app.db import is_disconnect
from app.models import User
from app.settings import get_settings
from app.web.rendering import render
from app.web.stopping import ServerStopping
from app.workflow import views
from app.workflow.inputs import page_number, parse_uuid
from app.workflow.notify import QUEUE_CHANNEL

log = logging.getLogger(__name__)

QUEUE_EVENT = "queue-changed"
SESSION_ENDED_EVENT = "session-ended"
KEEPALIVE_EVENT = "keepalive"
"""Sent when idle, as an event rather than a comment so that the page can tell a silent stream (app.js)."""
MAX_KEPT_ROWS = 50


class QueueController(Controller):
    path = "/queue"
    include_in_schema = False

    @get("/", name="queue")
    async def queue(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        page: Annotated[str | None, QueryParameter(name="page")] = None,
        keep: Annotated[str | None, QueryParameter(name="keep")] = None,
    ) -> Template:
        chosen = action_type if action_type in REGISTRY else None
        rows, found = await views.pending_queue(
            session=db_session, viewer=request.user, action_type=chosen, page=page_number(page)
        )
        in_hand = await views.decided_in_hand(
            session=db_session, viewer=request.user, action_ids=kept_ids(keep)
        )
        rows = sorted(rows + in_hand, key=lambda view: view.action.created_at)
        other_types = await views.pending_count(session=db_session) if chosen and not found.total else 0
        context = {
            "rows": rows,
            "total": found.total,
            "result": found,
            "chosen_type": chosen,
            "keepalive_seconds": get_settings().queue_keepalive_seconds,
            "pending_of_other_types": other_types,
        }
        return render(
            request, page="workflow/queue.html", fragment="workflow/_queue_rows.html", context=context
        )

    @get("/events", name="queue.events")
    async def events(
        self, request: Request[User, Any, Any], channels: NamedDependency[ChannelsPlugin]
    ) -> ServerSentEvent:
        db, user_id = request.app.state.db, request.user.id
        session_id = request.cookies.get(SESSION_COOKIE) if request.auth == "session" else None

        async def allowed() -> bool:
            return await still_signed_in(db=db, user_id=user_id, session_id=session_id)

        signals = _queue_signals(
            channels,
            allowed,
            stopping=request.app.state.stopping,
            keepalive_seconds=get_settings().queue_keepalive_seconds,
        )
        return ServerSentEvent(signals, retry_duration=2000)


def kept_ids(keep: str | None) -> list[uuid.UUID]:
    """The rows the page says the viewer has in hand (static/js/app.js), as ids; junk is ignored."""
    ids = [parse_uuid(part.strip()) for part in (keep or "").split(",")[:MAX_KEPT_ROWS]]
    return [found for found in ids if found is not None]


async def _queue_signals(
    channels: ChannelsPlugin,
    allowed: Callable[[], Awaitable[bool]],
    stopping: ServerStopping,
    keepalive_seconds: float,
) -> AsyncGenerator[SSEData, None]:
    """One event per burst of committed changes, and a keepalive event when idle so that proxies keep
    the stream and the page knows it is alive.

    Before each, the caller must still be signed in; when not, a last event tells the page so and
    the stream ends. It also ends when the server begins to stop, which would otherwise wait for it.
    After a reconnection the page refreshes itself (static/js/app.js).
    """
    subscriber = await channels.subscribe([QUEUE_CHANNEL])
    send, receive = anyio.create_memory_object_stream[bytes](1)

    async def signal(event: bytes) -> None:
        # a refresh already waiting to go out covers this change too; a closed stream means stopping
        with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
            send.send_nowait(event)

    try:
        with stopping.on_stop(send.close):
            async with subscriber.run_in_background(signal, join=False):
                while (news := await _next_news(receive, keepalive_seconds)) != "stopping":
                    signed_in = await _ask(allowed)
                    if signed_in is None:  # the database is unreachable: end, and the page reconnects
                        return
                    if not signed_in:
                        yield ServerSentEventMessage(event=SESSION_ENDED_EVENT, data="signed out")
                        return
                    event = QUEUE_EVENT if news == "changed" else KEEPALIVE_EVENT
                    yield ServerSentEventMessage(event=event, data=news)
    finally:
        with anyio.CancelScope(shield=True):  # a client that leaves arrives here as a cancellation
            await channels.unsubscribe(subscriber)


async def _ask(allowed: Callable[[], Awaitable[bool]]) -> bool | None:
    """allowed(), or None when the database cannot answer (stopped, restarting, unreachable)."""
    try:
        return await allowed()
    except Exception as error:
        if not is_disconnect(error):
            raise
        log.warning("a queue event stream ended: the database is unavailable (%s)", error)
        return None


async def _next_news(
    receive: MemoryObjectReceiveStream[bytes], keepalive_seconds: float
) -> Literal["changed", "idle", "stopping"]:
    """Wait for a change, for at most keepalive_seconds; "stopping" once the sending side closed."""
    with anyio.move_on_after(keepalive_seconds):
        try:
            await receive.receive()
        except anyio.EndOfStream:
            return "stopping"
        return "changed"
    return "idle"
