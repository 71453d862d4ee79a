"""Real app processes on loopback ports, for tests that need HTTP across processes (browser, SSE)."""

import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(process: "subprocess.Popen[bytes]", timeout: float = 60.0) -> bytes:
    """Read a server's output until uvicorn says it serves; the output so far. Bounded by timeout.

    Reads the pipe's file descriptor directly: select() cannot see lines already taken into a
    buffered reader, so two lines arriving together would leave the second unseen until the timeout.
    """
    assert process.stdout is not None
    fd, deadline, seen = process.stdout.fileno(), time.monotonic() + timeout, b""
    while b"Uvicorn running on" not in seen:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError(f"the server did not start: {seen.decode()[-2000:]}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError(f"the server exited: {seen.decode()[-2000:]}")
        seen += chunk
    return seen


class AppServer:
    """One `uvicorn app.main:create_app` process on a loopback port."""

    def __init__(self, database_url: str, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(PROJECT_ROOT / "test-artifacts" / f"server-{self.port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AppServer":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = (
            os.environ | {"DATABASE_URL": self.database_url, "SECRET_KEY": "browser-tests-secret"} | self.env
        )
        command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info"]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._wait_for_startup()
        return self

    def _wait_for_startup(self) -> None:
        """Read the server's output until uvicorn says it serves; then keep copying it to the log."""
        assert self.process is not None
        self.log.write_bytes(wait_until_serving(self.process))
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
