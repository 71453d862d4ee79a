"""After `serve` is killed (kill -9), the embedded PostgreSQL it started keeps running; the next
`serve` adopts it and stops it when it stops."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from app.settings import PROJECT_ROOT
from tests.cli.test_cli_lifecycle import _answers_health
from tests.servers import free_port, wait_until_serving

SCRIPT = Path(sys.executable).parent / "maker-checker"


def _serve(data_dir: Path, port: int) -> "subprocess.Popen[bytes]":
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_RUNTIME_DIR")}
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port)],
        env=env | {"DATA_DIR": str(data_dir)},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_until_serving(server)
    assert _answers_health(port)
    return server


def _postmaster(data_dir: Path) -> psutil.Process:
    pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
    return psutil.Process(pid)


def _kill_hard(server: "subprocess.Popen[bytes]") -> None:
    """SIGKILL the server and its own processes (workers), as an operator's kill -9 of the group would."""
    app_processes = [p for p in psutil.Process(server.pid).children(recursive=True) if p.name() != "postgres"]
    for process in [psutil.Process(server.pid), *app_processes]:
        with contextlib.suppress(psutil.Error):
            process.kill()
    server.wait(timeout=10)
    psutil.wait_procs(app_processes, timeout=10)


def test_the_next_serve_adopts_a_database_left_running_and_stops_it(tmp_path):
    data_dir = tmp_path / "data"
    first = _serve(data_dir, free_port())
    postmaster = _postmaster(data_dir)
    second = None
    try:
        _kill_hard(first)
        assert postmaster.is_running()  # left behind by the killed server

        second = _serve(data_dir, free_port())
        assert _postmaster(data_dir).pid == postmaster.pid  # reused, not a second server
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)

        _, alive = psutil.wait_procs([postmaster], timeout=20)
        assert alive == [], "the adopted PostgreSQL still runs after serve stopped"
    finally:
        for server in (first, second):
            if server is not None and server.poll() is None:
                server.kill()
        with contextlib.suppress(psutil.Error):
            if postmaster.is_running():
                postmaster.terminate()  # no server of this test left behind when it fails
                postmaster.wait(timeout=20)
