"""Operator commands around a user's and the server's life: disable-user, demo in production, serve's stop."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from sqlmodel import select

from app.models import AuditEvent
from app.settings import PROJECT_ROOT
from tests.cli.test_cli import find, run_cli
from tests.factories import make_actor, promotion_payload, review, submit
from tests.servers import free_port, wait_until_serving

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "maker-checker"


async def test_disable_user_stops_their_token_and_is_audited(client, db, database_url):
    ana = await make_actor(db, "maker", username="ana.disabled")
    assert (await client.get("/api/workflow/actions", headers=ana.headers)).status_code == 200

    code, out, err = await run_cli(database_url, "disable-user", "ana.disabled")

    assert code == 0, err
    assert "ana.disabled is disabled" in out
    assert (await find(db, "ana.disabled")).is_active is False
    assert (await client.get("/api/workflow/actions", headers=ana.headers)).status_code == 401
    async with db.sessions() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.event_type == "user_disabled"))
        ).all()
    assert [e.details["userId"] for e in events] == [ana.id]


async def test_disable_user_names_an_unknown_user(db, database_url):
    code, _, err = await run_cli(database_url, "disable-user", "nobody.here")
    assert code != 0
    assert "No user is named nobody.here" in err


def test_demo_refuses_in_production(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 32,
        "PUBLIC_URL": "https://mc.example.com",
    }
    result = subprocess.run([str(SCRIPT), "demo"], env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"APP_ENV is production" in result.stderr


def _answers_health(port: int, timeout: float = 60.0) -> bool:
    """With several workers, uvicorn says it is running before the workers accept: poll, bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            time.sleep(0.2)
    return False


def test_serve_with_the_embedded_database_stops_it_and_its_workers_on_sigterm(tmp_path):
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATA_DIR": str(data_dir)}
    port = free_port()
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    workers: list[psutil.Process] = []
    try:
        wait_until_serving(server)
        assert _answers_health(port)
        workers = [p for p in psutil.Process(server.pid).children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2
        postmaster = data_dir / "pgdata" / "postmaster.pid"
        assert postmaster.exists()

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == []
    finally:
        if server.poll() is None:
            server.kill()
        for worker in workers:  # none left when the test passes; no orphans when it fails
            with contextlib.suppress(psutil.Error):
                worker.kill()
    assert not postmaster.exists()  # PostgreSQL shut down cleanly with the app


async def test_disable_user_cancels_their_pending_actions(client, db, database_url):
    ana = await make_actor(db, "maker", username="ana.leaving")
    bob = await make_actor(db, "checker", username="bob.staying")
    action = await submit(client, ana, "create_promotion", promotion_payload())

    code, out, err = await run_cli(database_url, "disable-user", "ana.leaving")

    assert code == 0, err
    assert "ana.leaving is disabled; 1 pending action(s) they made were cancelled" in out
    response = await review(client, bob, action["id"])
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "The action is not pending any more: it is cancelled"
    async with db.sessions() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.event_type == "action_cancelled"))
        ).all()
    assert [str(e.action_id) for e in events] == [action["id"]]


async def test_create_user_refuses_an_address_that_is_not_bare(db, database_url):
    for email, message in [
        ("<ana@example.com>", "no name, angle brackets or quotes"),
        ("ana@example.com.", "Remove the dot at the end of the address"),
    ]:
        code, _, err = await run_cli(
            database_url, "create-user", "ana.cli", "--email", email, "--roles", "maker"
        )
        assert code != 0
        assert "email refused: " in err and message in err, err
    code, _, err = await run_cli(
        database_url, "create-user", "ana.cli", "--email", "Ana@Example.COM", "--roles", "maker"
    )
    assert code == 0, err
    assert (await find(db, "ana.cli")).email == "ana@example.com"
