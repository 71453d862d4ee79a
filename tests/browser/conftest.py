"""Browser tests: real app processes on loopback ports and Debian's Chromium driven by Playwright."""

import os
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from sqlmodel import SQLModel

from app.db import Database, run_blocking
from app.settings import PROJECT_ROOT
from tests.factories import make_actor

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """One `uvicorn app.main:create_app` process on a loopback port."""

    def __init__(self, database_url: str, port: int | None = None) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(PROJECT_ROOT / "test-artifacts" / f"server-{self.port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AppServer":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"DATABASE_URL": self.database_url, "SECRET_KEY": "browser-tests-secret"}
        command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info"]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._wait_for_startup()
        return self

    def _wait_for_startup(self, timeout: float = 30.0) -> None:
        """Read the server's output until uvicorn says it serves; then keep copying it to the log."""
        assert self.process is not None and self.process.stdout is not None
        output, deadline, seen = self.process.stdout, time.monotonic() + timeout, b""
        while b"Uvicorn running on" not in seen:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([output], [], [], max(remaining, 0))
            if not ready:
                raise TimeoutError(f"server on port {self.port} did not start: {seen.decode()[-2000:]}")
            line = output.readline()
            if not line:
                raise RuntimeError(f"server on port {self.port} exited: {seen.decode()[-2000:]}")
            seen += line
        self.log.write_bytes(seen)
        threading.Thread(target=self._copy_output, daemon=True).start()

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log.open("ab") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


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
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
