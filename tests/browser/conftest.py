"""Browser tests: real app processes on loopback ports and Debian's Chromium driven by Playwright."""

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from sqlmodel import SQLModel

from app.db import Database, run_blocking
from app.settings import PROJECT_ROOT
from tests.factories import make_actor
from tests.servers import AppServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
WAIT_MS = 10_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[AppServer]:
    app_server = AppServer(database_url).start()
    yield app_server
    app_server.stop()


@pytest.fixture(scope="session")
def second_server(database_url: str) -> Iterator[AppServer]:
    app_server = AppServer(database_url).start()
    yield app_server
    app_server.stop()


# module scope: while sync Playwright runs, its event loop occupies this thread, and the
# async tests of other modules need the thread free again
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    chromium = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def _truncate(database_url: str) -> None:
    async def work() -> None:
        db = Database.connect(database_url, pool_size=1)
        try:
            tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        finally:
            await db.dispose()

    run_blocking(work)


@dataclass(frozen=True)
class Person:
    username: str
    user_id: str
    token: str
    password: str = PASSWORD


@pytest.fixture
def people(database_url: str) -> Callable[..., Person]:
    """Empties the database, then makes users that can log in: people("maker"), people("checker")..."""
    _truncate(database_url)

    def make(*roles: str, username: str | None = None) -> Person:
        name = username or f"{'-'.join(roles)}-{uuid.uuid4().hex[:6]}"

        async def work() -> Person:
            db = Database.connect(database_url, pool_size=1)
            try:
                actor = await make_actor(db, *roles, username=name, password=PASSWORD)
            finally:
                await db.dispose()
            return Person(username=name, user_id=actor.id, token=actor.token)

        return run_blocking(work)

    return make


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(width: int = 1280, height: int = 900) -> BrowserContext:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def log_in(context: BrowserContext, base_url: str, person: Person, path: str = "/") -> Page:
    page = context.new_page()
    page.goto(f"{base_url}/login?next={path}")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{path}*")
    if path.startswith("/queue"):
        # act only once the page listens, as a person would once the page shows "Live"
        expect(page.locator("#live-state")).to_have_attribute("data-state", "open")
    return page


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret means injecting a style, which the page's CSP reports as an error
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")
