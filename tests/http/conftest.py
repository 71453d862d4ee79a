"""Helpers for HTTP-level tests of the browser UI: log in with a session, read CSRF tokens, poke the DB."""

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.db import Database
from tests.factories import Actor, make_actor

PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "mc_session"
CSRF_COOKIE = "mc_csrftoken"
CSRF_HEADER = "x-csrftoken"
HX = {"HX-Request": "true"}

# Argon2id still, with the cost lowered for speed: verify() takes its parameters from the stored hash,
# so the login code runs unchanged. Activation, and test_login_with_a_hash_made_by_the_app,
# use the app's own hasher.
_CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)

_CSRF_INPUT = re.compile(r'<input[^>]*name="_csrf_token"[^>]*value="([^"]+)"')

Login = Callable[..., Awaitable[httpx.Response]]


def csrf_from_page(html: str) -> str:
    found = _CSRF_INPUT.search(html)
    assert found, "the page carries no _csrf_token input"
    return found.group(1)


def csrf_headers(client: AsyncTestClient) -> dict[str, str]:
    """The header htmx sends on unsafe requests, taken from the CSRF cookie as the page's hx-headers do."""
    token = client.cookies.get(CSRF_COOKIE)
    assert token, "no CSRF cookie yet: GET a page first"
    return {CSRF_HEADER: token}


def row_html(html: str, action_id: str) -> str:
    """The <tr> of one action in a queue page or fragment ('' when absent)."""
    found = re.search(rf'<tr id="action-row-{action_id}".*?</tr>', html, re.DOTALL)
    return found.group(0) if found else ""


def use_session_cookie(client: AsyncTestClient, value: str) -> None:
    """Make the client send exactly this session id, as a browser holding that cookie would."""
    for cookie in [c for c in client.cookies.jar if c.name == SESSION_COOKIE]:
        client.cookies.delete(SESSION_COOKIE, domain=cookie.domain, path=cookie.path)
    client.cookies.set(SESSION_COOKIE, value, domain="testserver.local")


async def fetch(db: Database, statement: str, **params: Any) -> list[Any]:
    async with db.engine.begin() as conn:
        return list((await conn.execute(text(statement), params)).all())


async def execute(db: Database, statement: str, **params: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def session_data(db: Database, session_id: str) -> dict[str, Any]:
    rows = await fetch(db, "SELECT data FROM sessions WHERE id = :id", id=session_id)
    assert rows, f"no session row {session_id}"
    return json.loads(bytes(rows[0][0]))


async def set_auth_at(db: Database, session_id: str, seconds_ago: float) -> None:
    data = await session_data(db, session_id)
    data["auth_at"] = int(time.time() - seconds_ago)
    await execute(
        db, "UPDATE sessions SET data = :data WHERE id = :id", data=json.dumps(data).encode(), id=session_id
    )


@pytest.fixture
def login(client: AsyncTestClient) -> Login:
    """Log in through the form, as a browser does: GET /login for the CSRF token, then POST it."""

    async def do_login(username: str, password: str = PASSWORD, next_: str = "/") -> httpx.Response:
        page = await client.get("/login")
        assert page.status_code == 200, page.text
        token = csrf_from_page(page.text)
        return await client.post(
            "/login",
            data={"username": username, "password": password, "next": next_, "_csrf_token": token},
            follow_redirects=False,
        )

    return do_login


@pytest.fixture
def person(db: Database) -> Callable[..., Awaitable[Actor]]:
    """A user who can log in with PASSWORD (and has an API token)."""

    async def make(*roles: str, username: str | None = None) -> Actor:
        name = username or f"{'-'.join(roles) or 'nobody'}-{uuid.uuid4().hex[:6]}"
        actor = await make_actor(db, *roles, username=name)
        await execute(
            db, "UPDATE users SET password_hash = :hash WHERE id = :id", hash=_CHEAP_HASH, id=actor.user.id
        )
        return actor

    return make
