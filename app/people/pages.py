"""Pages: the admin's Users and Outbox pages, from which changes to people are proposed through the
workflow, and each user's own API tokens page."""

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.guards import requires_admin
from app.actions import get_action_type
from app.actions.update_user import changes
from app.errors import InvalidInput, NotFound
from app.mail import MAX_ATTEMPTS
from app.models import User
from app.people import service as people
from app.web.rendering import page_context
from app.workflow import service as workflow
from app.workflow import views
from app.workflow.inputs import parse_uuid, payload_from_form

UPDATE_USER = "update_user"
RESEND_ACTIVATION = "resend_activation"


def _user_id(raw: str) -> uuid.UUID:
    parsed = parse_uuid(raw)
    if parsed is None:
        raise NotFound("No user has this id")
    return parsed


def _current_values(user: User) -> dict[str, Any]:
    """The change form's fields as the user is now (the form's values are strings, like a browser's)."""
    return {
        "userId": str(user.id),
        "fullName": user.full_name or "",
        "roles": list(user.roles),
        "active": "true" if user.is_active else "false",
    }


def _only_changes(user: User, raw: dict[str, Any]) -> dict[str, Any]:
    """The payload with the fields left as they are taken out: a pending change then leaves alone what
    it did not mean to change, should another change be approved first."""
    kind = get_action_type(UPDATE_USER)
    assert kind is not None
    try:
        parsed = kind.parse(raw)
    except ValidationError:
        return raw  # the submission reports what is wrong, field by field
    found = changes(user, parsed)  # type: ignore[arg-type]
    return {"userId": str(user.id)} | {
        name: value for name, value in parsed.to_json().items() if name in found
    }


class PeoplePagesController(Controller):
    """Admins see every user and propose changes; a checker approves them like any other request."""

    path = "/admin"
    guards = [requires_admin]
    include_in_schema = False

    @get("/users", name="people.users")
    async def users(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        rows = await people.list_users(session=db_session)
        return Template("people/users.html", context=page_context(request, {"rows": rows}))

    @get("/users/{user_id:str}/change", name="people.change")
    async def change_form(
        self,
        request: Request[User, Any, Any],
        user_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        row = await people.get_user_row(session=db_session, user_id=_user_id(user_id))
        return self._change_page(request, row, _current_values(row.user), {}, None)

    @post("/users/{user_id:str}/change", name="people.change.submit")
    async def change(
        self,
        request: Request[User, Any, Any],
        user_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        row = await people.get_user_row(session=db_session, user_id=_user_id(user_id))
        kind = get_action_type(UPDATE_USER)
        assert kind is not None
        # the user is the one in the path, whatever the form says
        form = await request.form()
        raw = payload_from_form(kind, form) | {"userId": str(row.user.id)}
        if "fullName" in form and "fullName" not in raw:
            raw["fullName"] = ""  # emptied on the form: a name is required, not "left as it is"
        payload = _only_changes(row.user, raw)
        if payload.keys() == {"userId"}:
            message = "Nothing would change: change a value first"
            return self._change_page(request, row, raw, {}, message, status_code=422)
        try:
            action = await workflow.submit_action(
                session=db_session, maker=request.user, action_type=UPDATE_USER, raw_payload=payload
            )
        except InvalidInput as exc:
            return self._change_page(request, row, raw, exc.details or {}, exc.message, status_code=422)
        return await _submitted(request, db_session, action)

    @post("/users/{user_id:str}/resend-activation", name="people.resend")
    async def resend_activation(
        self,
        request: Request[User, Any, Any],
        user_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        row = await people.get_user_row(session=db_session, user_id=_user_id(user_id))
        try:
            action = await workflow.submit_action(
                session=db_session,
                maker=request.user,
                action_type=RESEND_ACTIVATION,
                raw_payload={"userId": str(row.user.id)},
            )
        except InvalidInput as exc:
            message = next(iter((exc.details or {}).values()), exc.message)
            context = {"status": 422, "message": f"No new link was requested: {message}"}
            return Template("errors/error.html", context=page_context(request, context), status_code=422)
        return await _submitted(request, db_session, action)

    @get("/outbox", name="people.outbox")
    async def outbox(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        failed = await people.failed_mail(session=db_session)
        context = {"failed": failed, "max_attempts": MAX_ATTEMPTS}
        return Template("people/outbox.html", context=page_context(request, context))

    def _change_page(
        self,
        request: Request[User, Any, Any],
        row: people.UserRow,
        values: dict[str, Any],
        errors: dict[str, str],
        message: str | None,
        *,
        status_code: int = 200,
    ) -> Template:
        context = {
            "row": row,
            "kind": get_action_type(UPDATE_USER),
            "values": values,
            "errors": errors,
            "message": message,
            "options": {},
        }
        return Template("people/change.html", context=page_context(request, context), status_code=status_code)


async def _submitted(request: Request[User, Any, Any], session: AsyncSession, action: Any) -> Template:
    view = await views.action_view(session=session, action=action, viewer=request.user)
    return Template("people/submitted.html", context=page_context(request, {"submitted": view}))


class TokenPagesController(Controller):
    """Each user's own API tokens: another user's are never listed, and revoking one is a 404."""

    path = "/account/tokens"
    include_in_schema = False

    @get("/", name="tokens")
    async def tokens(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        return await self._page(request, db_session)

    @post("/", name="tokens.create")
    async def create(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await request.form()
        try:
            created = await people.create_own_token(
                session=db_session, user=request.user, name=form.get("name")
            )
        except InvalidInput as exc:
            values = {"name": str(form.get("name", ""))[: people.TOKEN_NAME_MAX]}
            return await self._page(
                request, db_session, errors=exc.details or {}, values=values, status_code=422
            )
        return await self._page(request, db_session, created=created)

    @post("/{token_id:str}/revoke", name="tokens.revoke")
    async def revoke(
        self,
        request: Request[User, Any, Any],
        token_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        parsed = parse_uuid(token_id)
        if parsed is None:
            raise NotFound("You have no API token with this id")
        revoked = await people.revoke_own_token(session=db_session, user=request.user, token_id=parsed)
        return await self._page(request, db_session, revoked=revoked)

    async def _page(
        self,
        request: Request[User, Any, Any],
        session: AsyncSession,
        *,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        tokens = await people.tokens_of(session=session, user=request.user)
        defaults = {"values": {}, "errors": {}, "created": None, "revoked": None}
        return Template(
            "people/tokens.html",
            context=page_context(request, defaults | context | {"tokens": tokens}),
            status_code=status_code,
        )
