"""Pages for people: new request, action detail with inline review, history."""

import uuid
from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from markupsafe import Markup, escape
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.guards import requires_reviewer, requires_submitter
from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType
from app.errors import Conflict, DomainError, DuplicatePending, Forbidden, InvalidInput
from app.models import ActionStatus, Role, User, WorkflowAction
from app.text import without_nul
from app.web.rendering import page_context, render
from app.workflow import policies, record_forms, records, service, step_up, views
from app.workflow.inputs import (
    action_filter,
    form_values,
    page_number,
    parse_action_id,
    parse_uuid,
    payload_from_form,
    review_from_form,
)
from app.workflow.policies import UPDATE_POLICY

HISTORY_PAGE_SIZE = 25


class HomeController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request[User, Any, Any]) -> Redirect:
        user = request.user
        if user.has_role(Role.CHECKER):
            return Redirect("/queue", status_code=303)
        if user.has_role(Role.MAKER):
            return Redirect("/actions/new", status_code=303)
        return Redirect("/history", status_code=303)


def submittable(user: User) -> dict[str, ActionType]:
    """The types this user may request on this page: makers' types, and policy changes for admins
    (people administration is proposed from the Users page, filled with the user's current values)."""
    return {
        name: kind
        for name, kind in REGISTRY.items()
        if kind.maker_role in user.roles and (kind.maker_role == Role.MAKER or name == UPDATE_POLICY)
    }


class RequestController(Controller):
    """A maker picks a type, fills its form, and submits it for review."""

    path = "/actions/new"
    guards = [requires_submitter]
    include_in_schema = False

    @get("/", name="request.new")
    async def new_request(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        record: Annotated[str | None, QueryParameter(name="record")] = None,
    ) -> Template:
        allowed = submittable(request.user)
        kind = allowed.get(action_type or "") or next(iter(allowed.values()))
        options = await kind.options_for_form(db_session)
        # a type changing an existing record: the form filled with the record's current values
        prefilled = await record_forms.prefill(db_session, kind, record)
        context = {
            "kind": kind,
            "values": prefilled.values,
            "prefilled": prefilled,
            "errors": {},
            "options": options,
            "submittable": allowed,
            "policy": await policies.current_policy(db_session, kind.name),
        }
        return render(
            request, page="workflow/new.html", fragment="workflow/_request_form.html", context=context
        )

    @post("/", name="request.submit")
    async def submit_request(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await request.form()
        kind = get_action_type(str(form.get("actionType", "")))
        if kind is None:
            raise InvalidInput("Unknown action type", details={"actionType": "Pick a type of request"})
        raw = await record_forms.only_changes(db_session, kind, payload_from_form(kind, form))
        try:
            action = await service.submit_action(
                session=db_session,
                maker=request.user,
                action_type=kind.name,
                raw_payload=await kind.payload_of_form(db_session, raw),
            )
        except (InvalidInput, Conflict) as exc:
            duplicate = isinstance(exc, DuplicatePending)
            options = await kind.options_for_form(db_session)
            context = {
                "kind": kind,
                "values": raw,
                "errors": _linking_pending(request, exc) if duplicate else exc.details or {},
                "prefilled": record_forms.Prefill(
                    picked=await record_forms.picked_again(db_session, kind, raw)
                ),
                "message": exc.message,
                "options": options,
                "submittable": submittable(request.user),
                "policy": await policies.current_policy(db_session, kind.name),
            }
            return render(
                request,
                page="workflow/new.html",
                fragment="workflow/_request_form.html",
                context=context,
                status_code=422 if isinstance(exc, InvalidInput) else exc.status_code,
            )
        context = {
            "kind": kind,
            "submitted": await views.action_view(session=db_session, action=action, viewer=request.user),
        }
        return render(
            request, page="workflow/new.html", fragment="workflow/_request_submitted.html", context=context
        )


class ActionPagesController(Controller):
    """One action in full, its inline review, and the history of all actions."""

    include_in_schema = False

    @get("/actions/{action_id:str}", name="action.detail")
    async def detail(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        parsed = parse_uuid(action_id)
        if parsed is None:
            return Template(
                "errors/error.html",
                context=page_context(request, {"status": 404, "message": "No action has this id"}),
                status_code=404,
            )
        action = await views.get_action(session=db_session, action_id=parsed)
        view = await views.action_view(session=db_session, action=action, viewer=request.user)
        reviews, events = await views.reviews_and_events(session=db_session, action_id=parsed)
        policy = await policies.pinned_policy(db_session, action.action_type, action.policy_version)
        context = {
            "view": view,
            "reviews": reviews,
            "events": events,
            "kind": get_action_type(action.action_type),
            "policy": policy,
            "may_approve": await policies.may_still_approve(db_session, action, policy),
            "versions": await views.versions_of(session=db_session, action=action),
            "record_state": await records.record_state(db_session, action),
        }
        return Template("workflow/detail.html", context=page_context(request, context))

    @post("/actions/{action_id:str}/review", name="action.review", guards=[requires_reviewer])
    async def review(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        form = await request.form()
        parsed = parse_uuid(action_id)
        outcome, error, status_code = None, None, 200
        try:
            decision = review_from_form(form)
            approve, reviewed = decision.status == "approved", parse_action_id(action_id)
            # before the transaction and its row lock: the password's check is slow (Argon2)
            stepped_up = approve and await step_up.step_up_for_approval(request, reviewed, decision.password)
            outcome = await service.review_action(
                session=db_session,
                action_id=reviewed,
                reviewer=request.user,
                approve=approve,
                comment=decision.reviewComment,
                send_back=decision.status == "changes_requested",
                stepped_up=stepped_up,
            )
        except DomainError as exc:
            # raised before anything was written, except a refused execution whose audit is meant to stay
            error, status_code = exc, (422 if exc.status_code == 400 else exc.status_code)
        action = outcome.action if outcome else await _maybe_action(db_session, parsed)
        view = (
            await views.action_view(session=db_session, action=action, viewer=request.user)
            if action
            else None
        )
        context = {"view": view, "outcome": outcome, "error": error, "action_id": action_id}
        context["comment"] = without_nul(str(form.get("comment", "")))[:2000] if error else ""
        return render(
            request,
            page="workflow/decision.html",
            fragment=_decision_fragment(request),
            context=context,
            status_code=status_code,
        )

    @get("/history", name="history")
    async def history(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        maker_id: Annotated[str | None, QueryParameter(name="makerId")] = None,
        q: Annotated[str | None, QueryParameter(name="q")] = None,
        page: Annotated[str | None, QueryParameter(name="page")] = None,
    ) -> Template:
        filters = action_filter(status, action_type, maker_id, strict=False)
        filters = replace(filters, search=await views.find_search(db_session, q))
        result = await views.list_actions(
            session=db_session, filters=filters, page=page_number(page), limit=HISTORY_PAGE_SIZE
        )
        context = {
            "rows": await views.views_of(db_session, result.rows, request.user),
            "result": result,
            "filters": filters,
            "makers": await views.makers(session=db_session),
        }
        return render(
            request, page="workflow/history.html", fragment="workflow/_history_table.html", context=context
        )


def _linking_pending(request: Request[User, Any, Any], exc: DuplicatePending) -> dict[str, Markup]:
    """The refusal's messages by field, each naming its pending request as a link to it."""
    linked = {}
    for field, message in (exc.details or {}).items():
        holder = str(exc.holders[field])
        href = request.app.route_reverse("action.detail", action_id=holder)
        # inside the form, a boosted link would inherit its hx-target and land in the form: navigate
        link = Markup('<a href="{}" hx-boost="false">{}</a>').format(href, holder)
        linked[field] = escape(message).replace(holder, link)
    return linked


def _decision_fragment(request: Request[User, Any, Any]) -> str:
    """The detail page's form targets its panel, the queue's its row: answer with the same piece."""
    on_detail_page = request.headers.get("hx-target", "").startswith("decision-")
    return "workflow/_decision_panel.html" if on_detail_page else "workflow/_decision_row.html"


async def _maybe_action(session: AsyncSession, action_id: uuid.UUID | None) -> WorkflowAction | None:
    return await session.get(WorkflowAction, action_id) if action_id else None


class PoliciesController(Controller):
    """Each type's approval policy, its versions, and the changes waiting for approval."""

    include_in_schema = False

    @get("/policies", name="policies")
    async def policies_page(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        types, names = await policies.overview(session=db_session)
        context = {"types": types, "names": names, "may_change": request.user.has_role(Role.ADMIN)}
        return Template("workflow/policies.html", context=page_context(request, context))


class ResubmitController(Controller):
    """The maker edits an action sent back to them in its type's form, and resubmits it."""

    path = "/actions/{action_id:str}"
    guards = [requires_submitter]
    include_in_schema = False

    @get("/edit", name="action.edit")
    async def edit(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        action = await views.get_action(session=db_session, action_id=parse_action_id(action_id))
        _may_resubmit(action, request.user)
        kind = _type_of(action)
        # an update's form shows the record as it is now, with the request's changes over it
        values = await record_forms.current_values(db_session, kind, action.payload)
        return await _edit_page(
            request, db_session, action, kind, values | form_values(kind, action.payload), None
        )

    @post("/resubmit", name="action.resubmit")
    async def resubmit(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Redirect | Template:
        form = await request.form()
        action = await views.get_action(session=db_session, action_id=parse_action_id(action_id))
        kind = _type_of(action)
        raw = await record_forms.only_changes(db_session, kind, payload_from_form(kind, form))
        try:
            await service.resubmit_action(
                session=db_session,
                action_id=action.id,
                maker=request.user,
                raw_payload=await kind.payload_of_form(db_session, raw),
            )
        except (InvalidInput, Conflict) as exc:
            await db_session.refresh(action)
            return await _edit_page(request, db_session, action, kind, raw, exc)
        return Redirect(url_for_detail(action.id) + "?resubmitted=1", status_code=303)


def url_for_detail(action_id: uuid.UUID) -> str:
    return f"/actions/{action_id}"


def _type_of(action: WorkflowAction) -> ActionType:
    kind = get_action_type(action.action_type)
    if kind is None:
        raise Conflict("This action's type is no longer known: it cannot be edited")
    return kind


def _may_resubmit(action: WorkflowAction, user: User) -> None:
    if action.maker_id != user.id:
        raise Forbidden("Only the maker of an action can edit and resubmit it")
    if action.status != ActionStatus.CHANGES_REQUESTED:
        raise Conflict(f"Only an action sent back for changes can be edited: this one is {action.status}")


async def _edit_page(
    request: Request[User, Any, Any],
    session: AsyncSession,
    action: WorkflowAction,
    kind: ActionType,
    values: dict[str, Any],
    error: DomainError | None,
) -> Template:
    context = {
        "action": action,
        "view": await views.action_view(session=session, action=action, viewer=request.user),
        "kind": kind,
        "values": values,
        "errors": (error.details or {}) if error else {},
        "message": error.message if error else None,
        "options": await kind.options_for_form(session),
    }
    status_code = 200 if error is None else (422 if isinstance(error, InvalidInput) else error.status_code)
    return Template("workflow/edit.html", context=page_context(request, context), status_code=status_code)
