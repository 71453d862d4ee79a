"""Login, logout and account activation pages."""

import time
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.login import LOGIN_FAILED_MESSAGE, activate_account, authenticate, find_activation
from app.accounts.sessions import ROTATE_FLAG
from app.accounts.throttle import LoginRefused, LoginThrottle
from app.errors import InvalidInput, NotFound
from app.web.csrf import new_csrf_key
from app.web.rendering import page_context


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would make a phishing link look like ours."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class LoginController(Controller):
    include_in_schema = False

    @get("/login", name="login", exclude_from_auth=True)
    async def login_page(
        self,
        request: Request[Any, Any, Any],
        next_: Annotated[str | None, QueryParameter(name="next")] = None,
    ) -> Template:
        return Template("accounts/login.html", context=page_context(request, {"next": safe_next(next_)}))

    @post("/login", name="login.submit", exclude_from_auth=True)
    async def login(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        throttle: LoginThrottle = request.app.state.login_throttle
        try:
            # before the database or Argon2 is touched: a refused attempt costs neither
            ticket = throttle.admit(request.client.host if request.client else "unknown")
        except LoginRefused as refused:
            context = {"error": refused.message, "username": username, "next": target}
            return Template(
                "accounts/login.html",
                context=page_context(request, context),
                status_code=refused.status_code,
                headers={"Retry-After": str(refused.retry_after)},
            )
        failed = False  # an attempt that ends in an error is not counted against the address
        try:
            user = await authenticate(session=db_session, username=username, password=password)
            failed = user is None
        finally:
            throttle.settle(ticket, failed=failed)
        if user is None:
            context = {"error": LOGIN_FAILED_MESSAGE, "username": username, "next": target}
            return Template("accounts/login.html", context=page_context(request, context), status_code=401)
        session = {"user_id": str(user.id), "auth_at": int(time.time()), ROTATE_FLAG: True}
        # a fresh CSRF key: tokens handed out before login stop working with it
        request.set_session(session | new_csrf_key())
        return Redirect(target, status_code=303)

    @post("/logout", name="logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/login", status_code=303)


class ActivationController(Controller):
    path = "/activate"
    include_in_schema = False

    @get("/{token:str}", name="activate", exclude_from_auth=True)
    async def activation_page(
        self, request: Request[Any, Any, Any], token: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        try:
            await find_activation(session=db_session, token=token)
        except NotFound as exc:
            return Template(
                "accounts/activate.html",
                context=page_context(request, {"invalid": exc.message}),
                status_code=404,
            )
        return Template("accounts/activate.html", context=page_context(request, {"token": token}))

    @post("/{token:str}", name="activate.submit", exclude_from_auth=True)
    async def activate(
        self, request: Request[Any, Any, Any], token: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await request.form()
        try:
            user = await activate_account(
                session=db_session,
                token=token,
                password=str(form.get("password", "")),
                confirm=str(form.get("confirm", "")),
            )
        except NotFound as exc:
            return Template(
                "accounts/activate.html",
                context=page_context(request, {"invalid": exc.message}),
                status_code=404,
            )
        except InvalidInput as exc:
            context = {"token": token, "errors": exc.details or {}}
            return Template("accounts/activate.html", context=page_context(request, context), status_code=422)
        return Template("accounts/activated.html", context=page_context(request, {"activated": user}))
