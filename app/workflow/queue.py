"""The live pending queue: the page, its rows fragment, and the event stream that refreshes it (and that
carries the notices about the viewer's own requests, see live_signals)."""

import contextlib
import json
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
from app.models import ActionStatus, User
from app.settings import get_settings
from app.web.rendering import render
from app.web.stopping import ServerStopping
from app.workflow import views
from app.workflow.inputs import page_number, parse_uuid
from app.workflow.notify import QUEUE_CHANNEL

log = logging.getLogger(__name__)

QUEUE_EVENT = "queue-changed"
SESSION_ENDED_EVENT = "session-ended"
NOTICE_EVENT = "request-decided"
"""A request of the viewer's left pending (decided, withdrawn, cancelled...); its data is the action's id."""
KEEPALIVE_EVENT = "keepalive"
"""Sent when idle, as an event rather than a comment so that the page can tell a silent stream (app.js)."""
MAX_KEPT_ROWS = 50
MAX_WAITING_EVENTS = 32


class QueueController(Controller):
    path = "/queue"
    include_in_schema = False

    @get("/", name="queue")
    async def queue(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        maker_id: Annotated[str | None, QueryParameter(name="makerId")] = None,
        q: Annotated[str | None, QueryParameter(name="q")] = None,
        sort: Annotated[str | None, QueryParameter(name="sort")] = None,
        dense: Annotated[str | None, QueryParameter(name="dense")] = None,
        page: Annotated[str | None, QueryParameter(name="page")] = None,
        keep: Annotated[str | None, QueryParameter(name="keep")] = None,
    ) -> Template:
        chosen = action_type if action_type in REGISTRY else None
        chosen_maker = parse_uuid(maker_id)
        chosen_sort = sort if sort in views.SORTS else views.SORTS[0]
        search = await views.find_search(db_session, q)
        rows, found = await views.pending_queue(
            session=db_session,
            viewer=request.user,
            action_type=chosen,
            page=page_number(page),
            maker_id=chosen_maker,
            search=search,
            sort=chosen_sort,
        )
        in_hand = await views.decided_in_hand(
            session=db_session, viewer=request.user, action_ids=kept_ids(keep)
        )
        rows = views.in_order(rows + in_hand, chosen_sort)
        filtered = bool(chosen or chosen_maker or search)
        other_types = await views.pending_count(session=db_session) if filtered and not found.total else 0
        context = {
            "rows": rows,
            "total": found.total,
            "result": found,
            "chosen_type": chosen,
            "chosen_maker": chosen_maker,
            "chosen_sort": chosen_sort,
            "search": search.text if search else "",
            "dense": dense == "1",
            "makers": await views.makers(session=db_session),
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
        return live_stream(request, channels, queue=True)


def live_stream(
    request: Request[User, Any, Any], channels: ChannelsPlugin, *, queue: bool
) -> ServerSentEvent:
    """The caller's event stream: the queue's refreshes when `queue`, and always the notices about the
    caller's own requests (a page that shows the queue needs no second stream for them)."""
    db, user_id = request.app.state.db, request.user.id
    session_id = request.cookies.get(SESSION_COOKIE) if request.auth == "session" else None

    async def allowed() -> bool:
        return await still_signed_in(db=db, user_id=user_id, session_id=session_id)

    signals = live_signals(
        channels,
        allowed,
        stopping=request.app.state.stopping,
        keepalive_seconds=get_settings().queue_keepalive_seconds,
        viewer_id=user_id,
        queue=queue,
    )
    return ServerSentEvent(signals, retry_duration=2000)


def kept_ids(keep: str | None) -> list[uuid.UUID]:
    """The rows the page says the viewer has in hand (static/js/app.js), as ids; junk is ignored."""
    ids = [parse_uuid(part.strip()) for part in (keep or "").split(",")[:MAX_KEPT_ROWS]]
    return [found for found in ids if found is not None]


def news_of(raw: bytes, viewer_id: uuid.UUID, *, queue: bool) -> list[tuple[str, str]]:
    """The events one signal (app.workflow.notify.queue_message) means for this viewer's stream: a
    queue refresh (queue streams only), and a notice when a request of the viewer's left pending."""
    news = [(QUEUE_EVENT, "changed")] if queue else []
    try:
        message = json.loads(raw)
        action_id, status, maker_id = (uuid.UUID(message["actionId"]), message["status"], message["makerId"])
    except (ValueError, KeyError, TypeError):
        return news
    if maker_id == str(viewer_id) and status != ActionStatus.PENDING:
        news.append((NOTICE_EVENT, str(action_id)))
    return news


async def live_signals(
    channels: ChannelsPlugin,
    allowed: Callable[[], Awaitable[bool]],
    stopping: ServerStopping,
    keepalive_seconds: float,
    *,
    viewer_id: uuid.UUID,
    queue: bool,
) -> AsyncGenerator[SSEData, None]:
    """One queue event per burst of committed changes (queue streams), one notice per change to
    one of the viewer's requests, and a keepalive event when idle so that proxies keep the stream
    and the page knows it is alive.

    Before each, the caller must still be signed in; when not, a last event tells the page so and
    the stream ends. It also ends when the server begins to stop, which would otherwise wait for it.
    After a reconnection the page refreshes itself (static/js/app.js).
    """
    subscriber = await channels.subscribe([QUEUE_CHANNEL])
    send, receive = anyio.create_memory_object_stream[tuple[str, str]](MAX_WAITING_EVENTS)
    refresh_waiting = False

    async def signal(raw: bytes) -> None:
        nonlocal refresh_waiting
        for event in news_of(raw, viewer_id, queue=queue):
            # a refresh already waiting to go out covers this change too
            if event[0] == QUEUE_EVENT and refresh_waiting:
                continue
            # a full buffer drops the event (the page catches up on its next refresh); closed: stopping
            with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
                send.send_nowait(event)
                refresh_waiting = refresh_waiting or event[0] == QUEUE_EVENT

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
                    if news == "idle":
                        yield ServerSentEventMessage(event=KEEPALIVE_EVENT, data="idle")
                        continue
                    if news[0] == QUEUE_EVENT:
                        refresh_waiting = False
                    yield ServerSentEventMessage(event=news[0], data=news[1])
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
    receive: MemoryObjectReceiveStream[tuple[str, str]], keepalive_seconds: float
) -> tuple[str, str] | Literal["idle", "stopping"]:
    """Wait for an event, for at most keepalive_seconds; "stopping" once the sending side closed."""
    with anyio.move_on_after(keepalive_seconds):
        try:
            return await receive.receive()
        except anyio.EndOfStream:
            return "stopping"
    return "idle"
