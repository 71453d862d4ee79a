"""The queue's Live/Reconnecting indicator tells the truth when its event stream falls silent."""

import os
import signal
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.servers import AppServer

pytestmark = pytest.mark.browser

KEEPALIVE_SECONDS = 1
# app.js calls a stream dead after twice the keepalive plus two seconds of slack
SILENT_AFTER_MS = (2 * KEEPALIVE_SECONDS + 2) * 1000


@pytest.fixture
def quick_server(database_url: str) -> Iterator[AppServer]:
    app_server = AppServer(database_url, env={"QUEUE_KEEPALIVE_SECONDS": str(KEEPALIVE_SECONDS)}).start()
    yield app_server
    if app_server.process:
        app_server.process.send_signal(signal.SIGCONT)  # a failed test may leave it frozen
    app_server.stop()


def stays_live_for(page: Page, milliseconds: int) -> bool:
    """Whether the indicator keeps saying "open" for that long (checked on every change)."""
    return page.evaluate(
        """(ms) => new Promise((resolve) => {
            const badge = document.getElementById("live-state");
            const observer = new MutationObserver(() => {
              if (badge.dataset.state !== "open") { observer.disconnect(); resolve(false); }
            });
            observer.observe(badge, {attributes: true, childList: true, characterData: true, subtree: true});
            setTimeout(() => { observer.disconnect(); resolve(badge.dataset.state === "open"); }, ms);
        })""",
        milliseconds,
    )


def test_a_frozen_server_shows_reconnecting_then_live_once_it_is_back(quick_server, people, new_context):
    checker = people("checker")
    queue = log_in(new_context(), quick_server.url, checker, "/queue")
    live = queue.locator("#live-state")
    expect(live).to_have_text("Live")
    # keepalives arrive, so a quiet queue past the silence limit is still live
    assert stays_live_for(queue, SILENT_AFTER_MS + 1000)

    assert quick_server.process is not None
    quick_server.process.send_signal(signal.SIGSTOP)  # the connection stays open, but nothing arrives
    try:
        expect(live).to_have_attribute("data-state", "reconnecting", timeout=SILENT_AFTER_MS + 5000)
        expect(live).to_have_text("Reconnecting…")
    finally:
        os.kill(quick_server.process.pid, signal.SIGCONT)
    expect(live).to_have_attribute("data-state", "open", timeout=20_000)
    expect(live).to_have_text("Live")
