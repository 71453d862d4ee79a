"""`maker-checker serve` as a subprocess, and the CPU time of process trees (the app's, PostgreSQL's)."""

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

SCRIPT = str(Path(sys.executable).parent / "maker-checker")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[str, int]]:
    """Run `maker-checker serve --workers N` until the block ends; yields its base URL and pid."""
    port = free_port()
    command = [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, base, log)
        yield base, process.pid
    finally:
        _stop(process)


def _wait_until_healthy(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)  # polling a starting server, bounded by the deadline
    raise TimeoutError(f"serve did not answer /health within {timeout} s; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process and its descendants have used so far.

    Children that have exited and been waited for count through the parent's children_* times, so
    the sum only grows: PostgreSQL backends that end between two samples are not lost.
    """
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        cpu = root.cpu_times()
        descendants = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    total = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    for process in descendants:
        try:
            own = process.cpu_times()
        except psutil.Error:
            continue
        total += own.user + own.system
    return total


def postmaster_of(backend_pid: int) -> int | None:
    """The local PostgreSQL server's main pid, from one of its backends (None when it is remote)."""
    try:
        backend = psutil.Process(backend_pid)
        parent = backend.parent() if "postgres" in backend.name() else None
        return parent.pid if parent is not None and "postgres" in parent.name() else None
    except psutil.Error:
        return None
