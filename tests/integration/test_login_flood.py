"""A flood of anonymous logins is throttled per client address and overall, so everyone else still gets in.

Each browser is its own httpx client on the live app's ASGI transport with its own client address
(as uvicorn reports it), so the requests really overlap and come from the addresses the test says.
"""

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

import app.accounts.passwords as passwords
from app.accounts.throttle import BUDGET, MAX_PENDING
from tests.factories import make_actor
from tests.http.conftest import csrf_from_page, fetch

pytestmark = pytest.mark.anyio

PASSWORD = "the right password, at last"
FLOOD = 30

Browser = Callable[[str, str, str], Awaitable[httpx.Response]]


@pytest.fixture
async def live_app(db):
    from app.main import create_app

    app = create_app()
    async with app.lifespan():
        yield app


@pytest.fixture
async def browser_at(live_app) -> AsyncIterator[Callable[[str], Awaitable[Browser]]]:
    """Opens a browser at a client address: it has loaded /login; call it to log in."""
    async with AsyncExitStack() as stack:

        async def open_browser(address: str) -> Browser:
            transport = httpx.ASGITransport(app=live_app, client=(address, 40000))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
            )
            token = csrf_from_page((await client.get("/login")).text)

            async def log_in(username: str, password: str, next_: str = "/") -> httpx.Response:
                form = {"username": username, "password": password, "next": next_, "_csrf_token": token}
                return await client.post("/login", data=form, follow_redirects=False)

            log_in.client = client  # type: ignore[attr-defined]
            return log_in

        yield open_browser


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """The passwords Argon2 verified: what the flood cost the server."""
    seen: list[str] = []
    original = passwords.verify_password

    def counted(password_hash, password):
        seen.append(password)
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counted)
    return seen


async def test_a_flood_from_one_address_gets_429_while_another_client_logs_in(db, browser_at, verifications):
    ana = await make_actor(db, "maker", password=PASSWORD)
    flooders = [await browser_at("203.0.113.7") for _ in range(FLOOD)]
    someone_else = await browser_at("198.51.100.20")
    health = someone_else.client  # type: ignore[attr-defined]

    flood = [log_in("nobody", f"guess {n}") for n, log_in in enumerate(flooders)]
    results = await asyncio.gather(*flood, someone_else(ana.user.username, PASSWORD), health.get("/health"))
    flooded, legitimate, alive = results[:FLOOD], results[FLOOD], results[FLOOD + 1]

    statuses = [r.status_code for r in flooded]
    assert set(statuses) == {401, 429}, statuses
    assert 1 <= statuses.count(401) <= BUDGET
    for refused in (r for r in flooded if r.status_code == 429):
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many failed logins" in refused.text
        assert "<html" in refused.text  # the login page, saying why
    assert legitimate.status_code == 303, legitimate.text
    assert alive.status_code == 200
    # the flood cost at most its budget in Argon2 verifications, and the legitimate login one
    assert len(verifications) <= BUDGET + 1
    rows = await fetch(db, "SELECT count(*) FROM audit_events WHERE event_type = 'login_failed'")
    assert rows[0][0] == statuses.count(401)


async def test_an_address_past_its_budget_waits_even_with_the_right_password(db, browser_at):
    ana = await make_actor(db, "maker", password=PASSWORD)
    guesser = await browser_at("203.0.113.8")
    for n in range(BUDGET):
        assert (await guesser("nobody", f"guess {n}")).status_code == 401

    refused = await guesser(ana.user.username, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 60
    assert "Try again in 60 seconds" in refused.text
    assert not guesser.client.cookies.get("mc_session")  # type: ignore[attr-defined]

    elsewhere = await browser_at("203.0.113.9")
    assert (await elsewhere(ana.user.username, PASSWORD)).status_code == 303


async def finished(tasks: list[asyncio.Future], count: int) -> list[httpx.Response]:
    """The answers of the first `count` tasks to finish; fails if they take longer than 20 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sum(task.done() for task in tasks) < count:
        remaining = deadline - loop.time()
        assert remaining > 0, f"only {sum(task.done() for task in tasks)} of {count} answers came"
        pending = [task for task in tasks if not task.done()]
        await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    return [task.result() for task in tasks if task.done()]


async def test_beyond_the_global_cap_logins_get_503_at_once_and_health_stays_up(db, browser_at, monkeypatch):
    # Argon2 is held until the test lets go: the admitted attempts stay pending meanwhile
    release = threading.Event()
    original = passwords.verify_password

    def held(password_hash, password):
        release.wait(timeout=30)
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", held)
    extra = 6
    crowd = [await browser_at(f"192.0.2.{n}") for n in range(MAX_PENDING + extra)]
    bystander = (await browser_at("198.51.100.30")).client  # type: ignore[attr-defined]
    attempts = [asyncio.ensure_future(log_in("nobody", "guess")) for log_in in crowd]
    try:
        refused = await finished(attempts, extra)
        assert [r.status_code for r in refused] == [503] * extra
        assert all(r.headers["retry-after"] == "1" for r in refused)
        assert "busy" in refused[0].text
        assert (await bystander.get("/health")).status_code == 200
    finally:
        release.set()
        answers = await asyncio.gather(*attempts, return_exceptions=True)
    assert sorted(r.status_code for r in answers) == [401] * MAX_PENDING + [503] * extra


async def test_an_unknown_username_is_audited_without_the_typed_text(db, browser_at):
    typed = "my-secret-passphrase-typed-in-the-wrong-box"
    browser = await browser_at("203.0.113.10")
    assert (await browser(typed, "whatever")).status_code == 401

    rows = await fetch(
        db, "SELECT details::text, actor_id FROM audit_events WHERE event_type = 'login_failed'"
    )
    assert len(rows) == 1
    details, actor = rows[0]
    assert actor is None
    assert typed not in details
    assert "secret" not in details
    assert '"knownUser": false' in details
