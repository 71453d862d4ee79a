"""Parallel logins and activations: row locks make concurrent attempts take turns.

Each simulated browser is its own httpx client (its own CSRF cookie and token) on the
live app's ASGI transport, so the requests really overlap on the test's event loop.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

import app.accounts.controller as account_pages
from app.accounts.login import LOGIN_FAILED_MESSAGE
from app.accounts.throttle import MAX_PENDING
from app.accounts.tokens import digest
from tests.factories import count_in_flight, issue_activation, make_actor
from tests.http.conftest import CSRF_COOKIE, SESSION_COOKIE, csrf_from_page, fetch

pytestmark = pytest.mark.anyio

ATTEMPTS = MAX_PENDING  # as many as the login throttle lets run at once in a process
ACTIVATIONS = 8
PASSWORD = "the right password, at last"
NEW_PASSWORD = "a long enough passphrase"

Browser = tuple[httpx.AsyncClient, str]


@pytest.fixture
async def browsers(live_client: httpx.AsyncClient) -> AsyncIterator[Callable[..., Awaitable[Browser]]]:
    """Opens a fresh browser on the live app: a client with its own cookies, and the CSRF token of `path`.

    Each browser has a client address of its own, as guesses spread over many hosts would: the login
    throttle's per-address budget is not what these tests are about.
    """
    app = live_client._transport.app  # type: ignore[attr-defined]
    opened = 0
    async with AsyncExitStack() as stack:

        async def open_browser(path: str) -> Browser:
            nonlocal opened
            opened += 1
            transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{opened}", 40000))
            browser = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=live_client.base_url)
            )
            page = await browser.get(path)
            assert page.status_code == 200, page.text
            assert browser.cookies.get(CSRF_COOKIE)
            return browser, csrf_from_page(page.text)

        yield open_browser


@pytest.fixture
def in_flight(monkeypatch):
    return count_in_flight(monkeypatch, account_pages, "authenticate", "activate_account")


async def _event_types(db, actor_id) -> list[str]:
    rows = await fetch(
        db, "SELECT event_type FROM audit_events WHERE actor_id = :id ORDER BY id", id=actor_id
    )
    return [row[0] for row in rows]


async def test_parallel_wrong_passwords_all_count_and_lock_the_account(db, browsers, in_flight):
    ana = await make_actor(db, "maker", password=PASSWORD)
    guessers = [await browsers("/login") for _ in range(ATTEMPTS)]

    async def guess(browser: Browser, n: int) -> httpx.Response:
        client, token = browser
        form = {"username": ana.user.username, "password": f"guess {n}", "next": "/", "_csrf_token": token}
        return await client.post("/login", data=form, follow_redirects=False)

    responses = await asyncio.gather(*(guess(browser, n) for n, browser in enumerate(guessers)))

    assert in_flight.max > 1, "the logins did not overlap"
    assert [r.status_code for r in responses] == [401] * ATTEMPTS
    assert all(LOGIN_FAILED_MESSAGE in r.text for r in responses)

    locked = await fetch(
        db, "SELECT locked_until - now() FROM users WHERE id = :id AND locked_until > now()", id=ana.user.id
    )
    assert locked, f"{ATTEMPTS} parallel wrong passwords did not lock the account"
    assert 14 * 60 < locked[0][0].total_seconds() <= 15 * 60
    types = await _event_types(db, ana.user.id)
    assert types.count("login_failed") == ATTEMPTS
    assert types.count("account_locked") == 1  # the fifth failure locks; later ones find it locked

    client, token = await browsers("/login")
    right = await client.post(
        "/login",
        data={"username": ana.user.username, "password": PASSWORD, "next": "/", "_csrf_token": token},
        follow_redirects=False,
    )
    assert right.status_code == 401
    assert LOGIN_FAILED_MESSAGE in right.text
    assert not client.cookies.get(SESSION_COOKIE)
    assert "login_succeeded" not in await _event_types(db, ana.user.id)


async def test_parallel_uses_of_one_activation_link_activate_once(db, browsers, in_flight):
    newcomer = await make_actor(db, "checker")
    raw = await issue_activation(db, newcomer.user)
    path = f"/activate/{raw}"
    tabs = [await browsers(path) for _ in range(ACTIVATIONS)]

    async def activate(browser: Browser, n: int) -> httpx.Response:
        client, token = browser
        password = f"{NEW_PASSWORD} {n}"
        return await client.post(path, data={"password": password, "confirm": password, "_csrf_token": token})

    responses = await asyncio.gather(*(activate(tab, n) for n, tab in enumerate(tabs)))

    assert in_flight.max > 1, "the activations did not overlap"
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200] + [404] * (ACTIVATIONS - 1), statuses
    for response in responses:
        if response.status_code == 404:
            assert "not valid" in response.text
    winner = statuses.index(200)

    assert (await _event_types(db, newcomer.user.id)).count("account_activated") == 1
    used = await fetch(db, "SELECT used_at FROM activation_tokens WHERE token_hash = :h", h=digest(raw))
    assert len(used) == 1 and used[0][0] is not None

    # the password that counts is the winner's: no later request overwrote it
    client, token = await browsers("/login")

    async def log_in(n: int) -> httpx.Response:
        form = {
            "username": newcomer.user.username,
            "password": f"{NEW_PASSWORD} {n}",
            "next": "/",
            "_csrf_token": token,
        }
        return await client.post("/login", data=form, follow_redirects=False)

    assert (await log_in((winner + 1) % ACTIVATIONS)).status_code == 401
    assert (await log_in(winner)).status_code == 303
