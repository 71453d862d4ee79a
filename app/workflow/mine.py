"""A maker's own view: My requests (with withdraw), and the live notices about their requests.

The notices ride on the same event stream as the queue (app.workflow.queue.live_signals): each page
of a signed-in person listens, and on a signal asks for the notices since the moment the page last
heard of (`since`), so that one missed while the stream was down is caught up on reconnection.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.channels import ChannelsPlugin
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, ServerSentEvent, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.models import ActionStatus, User, utcnow
from app.web.rendering import page_context, render
from app.workflow import service, views
from app.workflow.inputs import page_number, parse_uuid
from app.workflow.notices import STATUS_GROUPS, group_of, notices_since, statuses_of, unseen_count
from app.workflow.queue import live_stream

PAGE_SIZE = 25
SEEN_KEY = "requests_seen_at"
"""In the session: when its person last opened My requests (the header counts what changed since)."""


class MyRequestsController(Controller):
    path = "/my-requests"
    include_in_schema = False

    @get("/", name="my_requests")
    async def my_requests(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        page: Annotated[str | None, QueryParameter(name="page")] = None,
        withdrawn: Annotated[str | None, QueryParameter(name="withdrawn")] = None,
    ) -> Template:
        me = request.user
        present = await statuses_of(session=db_session, maker_id=me.id)
        chosen = status if status in present else None
        filters = views.ActionFilter(status=chosen, maker_id=me.id)
        result = await views.list_actions(
            session=db_session, filters=filters, page=page_number(page), limit=PAGE_SIZE
        )
        if "session" in request.scope and request.auth == "session":
            request.set_session(dict(request.session) | {SEEN_KEY: utcnow().isoformat()})
        context = {
            "rows": await views.views_of(db_session, result.rows, me),
            "result": result,
            "chosen": chosen,
            "groups": _groups(present),
            "total": sum(present.values()),
            "withdrawn": await _withdrawn_by(db_session, parse_uuid(withdrawn), me),
            "notice_count": 0,
        }
        return render(
            request,
            page="workflow/my_requests.html",
            fragment="workflow/_my_requests_table.html",
            context=context,
        )

    @get("/events", name="my_requests.events")
    async def events(
        self, request: Request[User, Any, Any], channels: NamedDependency[ChannelsPlugin]
    ) -> ServerSentEvent:
        return live_stream(request, channels, queue=False)

    @get("/notices", name="my_requests.notices")
    async def notices(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        since: Annotated[str | None, QueryParameter(name="since")] = None,
    ) -> Template:
        """The toasts for what changed since `since` (none when it is missing or odd), the header's
        count, and the moment to ask from next time, all swapped out of band."""
        me, after = request.user, _moment(since)
        found = await notices_since(session=db_session, maker_id=me.id, since=after) if after else []
        seen = _moment(request.session.get(SEEN_KEY)) if "session" in request.scope else None
        seen = seen or _signed_in_at(request) or utcnow()
        count = await unseen_count(session=db_session, maker_id=me.id, since=seen)
        latest = max([n.action.updated_at for n in found], default=after or utcnow())
        context = {"notices": found, "notice_count": count, "since": latest.isoformat()}
        headers = {"HX-Trigger": "requests-changed"} if found else {}
        return Template("workflow/_notices.html", context=page_context(request, context), headers=headers)


def _groups(present: dict[str, int]) -> list[tuple[str, list[tuple[str, int]]]]:
    """The statuses the maker's requests are in, grouped as My requests shows them, in a fixed order."""
    order = [*STATUS_GROUPS, "decided"]
    groups: dict[str, list[tuple[str, int]]] = {name: [] for name in order}
    for status in ActionStatus:
        if status.value in present:
            groups[group_of(status.value)].append((status.value, present[status.value]))
    return [(name, members) for name, members in groups.items() if members]


def _moment(raw: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None
    return moment if moment and moment.tzinfo else None


def _signed_in_at(request: Request[User, Any, Any]) -> datetime | None:
    auth_at = request.session.get("auth_at") if "session" in request.scope else None
    return datetime.fromtimestamp(auth_at, UTC) if isinstance(auth_at, int | float) else None


async def _withdrawn_by(session: AsyncSession, action_id: uuid.UUID | None, me: User) -> Any:
    """The action named by ?withdrawn=, when it is the viewer's and cancelled (the confirmation)."""
    if action_id is None:
        return None
    try:
        action = await views.get_action(session=session, action_id=action_id)
    except DomainError:
        return None
    if action.maker_id != me.id or action.status != ActionStatus.CANCELLED:
        return None
    return await views.action_view(session=session, action=action, viewer=me)


class WithdrawController(Controller):
    """Withdraw a pending request: a confirmation page, then the withdrawal (works without JavaScript)."""

    path = "/actions/{action_id:str}/withdraw"
    include_in_schema = False

    @get("/", name="action.withdraw")
    async def confirm(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        view, error = await _withdrawable(db_session, action_id, request.user)
        return Template(
            "workflow/withdraw.html",
            context=page_context(request, {"view": view, "error": error}),
            status_code=error.status_code if error else 200,
        )

    @post("/", name="action.withdraw.submit")
    async def withdraw(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template | Redirect:
        parsed = parse_uuid(action_id)
        try:
            if parsed is None:
                raise NotFound("No action has this id")
            await service.withdraw_action(session=db_session, action_id=parsed, maker=request.user)
        except DomainError as exc:
            view, _ = await _withdrawable(db_session, action_id, request.user)
            return Template(
                "workflow/withdraw.html",
                context=page_context(request, {"view": view, "error": exc}),
                status_code=exc.status_code,
            )
        target = request.app.route_reverse("my_requests") + f"?withdrawn={parsed}"
        return Redirect(target, status_code=303)


async def _withdrawable(session: AsyncSession, raw_id: str, me: User) -> tuple[Any, DomainError | None]:
    """The action's view, and why it cannot be withdrawn (None when it can)."""
    action_id = parse_uuid(raw_id)
    try:
        if action_id is None:
            raise NotFound("No action has this id")
        action = await views.get_action(session=session, action_id=action_id)
    except DomainError as exc:
        return None, exc
    view = await views.action_view(session=session, action=action, viewer=me)
    if action.maker_id != me.id:
        return None, Forbidden("Only its maker can withdraw an action")
    if action.status != ActionStatus.PENDING:
        return view, Conflict(f"The action is not pending any more: it is {action.status}")
    return view, None
