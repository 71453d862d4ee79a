"""`maker-checker serve` stops promptly on SIGTERM even while queue pages hold event streams open."""

import os
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import httpx
import pytest
from httpx_sse import aconnect_sse

from app.settings import PROJECT_ROOT
from tests.factories import make_actor
from tests.servers import free_port, wait_until_serving

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "maker-checker"
STOP_WITHIN_SECONDS = 5.0
STREAMS = 3  # with several workers, more than one of them likely holds a stream


def _serve(database_url: str, port: int, workers: int) -> "subprocess.Popen[bytes]":
    env = os.environ | {"DATABASE_URL": database_url, "APP_ENV": "development"}
    return subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_until_healthy(port: int, timeout: float = 60.0) -> None:
    """With several workers uvicorn reports the port before a worker listens on it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _wait_for_exit(process: "subprocess.Popen[bytes]", deadline: float) -> int | None:
    """The exit code, or None when the process still runs at the deadline (time.monotonic())."""
    try:
        return process.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_ends_open_event_streams_and_exits_soon_after_sigterm(db, database_url, workers):
    checker = await make_actor(db, "checker")
    port = free_port()
    server = _serve(database_url, port, workers)
    try:
        await anyio.to_thread.run_sync(wait_until_serving, server)
        await anyio.to_thread.run_sync(_wait_until_healthy, port)
        async with AsyncExitStack() as streams:
            http = await streams.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
            )
            events = []
            for _ in range(STREAMS):
                source = await streams.enter_async_context(
                    aconnect_sse(http, "GET", "/queue/events", headers=checker.headers)
                )
                assert source.response.status_code == 200
                events.append(source.aiter_sse())

            server.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_WITHIN_SECONDS
            with anyio.fail_after(STOP_WITHIN_SECONDS):
                for stream in events:
                    # ends cleanly: a cut connection would raise here instead
                    assert [event.event async for event in stream] == []
        code = await anyio.to_thread.run_sync(_wait_for_exit, server, deadline)
        assert code is not None, f"serve still runs {STOP_WITHIN_SECONDS} s after SIGTERM"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
