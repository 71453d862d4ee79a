"""A server killed with SIGKILL in the middle of a burst of approvals, then started again: checked
by SQL, each approved action took effect exactly once, nothing took effect without an approval,
the audit chain verifies, and every queued mail is delivered exactly once."""

import asyncio
import email
import email.policy
import os
import sys
from collections import Counter
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from app.settings import PROJECT_ROOT
from tests.factories import make_actor, user_payload
from tests.servers import AppServer

pytestmark = pytest.mark.anyio

ACTIONS = 40
CONCURRENCY = 10
KILL_AFTER = 12
"""Approvals answered before the SIGKILL: the rest are in flight or not sent yet."""
SETTLE_WITHIN_SECONDS = 20.0
SCRIPT = Path(sys.executable).parent / "maker-checker"


def _server(database_url: str, data_dir: Path, **env: str) -> AppServer:
    # the audit sealer on, so that verify-audit finds the chain sealed; mail only after responses
    # unless asked for retries
    base = {"DATA_DIR": str(data_dir), "AUDIT_SEAL_INTERVAL": "0.2", "MAIL_RETRY_SECONDS": "0"}
    return AppServer(database_url, env=base | env)


async def _approve_in_burst(server: AppServer, checker_headers: dict[str, str], ids: list[str]) -> dict:
    """Approve every action, CONCURRENCY at a time; SIGKILL the server once KILL_AFTER answered.

    Returns each action's answer: a status code, or the transport error of a cut request."""
    answers: dict[str, int | str] = {}
    answered, slots = asyncio.Event(), asyncio.Semaphore(CONCURRENCY)
    assert server.process is not None

    async def approve(http: httpx.AsyncClient, action_id: str) -> None:
        async with slots:
            try:
                response = await http.post(
                    f"/api/workflow/actions/{action_id}/review",
                    json={"status": "approved"},
                    headers=checker_headers,
                )
                answers[action_id] = response.status_code
            except httpx.TransportError as error:
                answers[action_id] = type(error).__name__
            if sum(isinstance(a, int) for a in answers.values()) >= KILL_AFTER:
                answered.set()

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        burst = [asyncio.create_task(approve(http, action_id)) for action_id in ids]
        await asyncio.wait_for(answered.wait(), timeout=30)
        server.process.kill()
        await asyncio.gather(*burst)
    server.process.wait(timeout=10)
    return answers


async def _until(conn: asyncpg.Connection, query: str, what: str) -> None:
    """Poll (bounded) until the query's count is zero."""
    with anyio.fail_after(SETTLE_WITHIN_SECONDS):
        while True:
            if await conn.fetchval(query) == 0:
                return
            await anyio.sleep(0.2)  # polling, bounded by fail_after
    raise AssertionError(what)


def _delivered(mail_dir: Path) -> list[tuple[str, str]]:
    """(Message-ID, To) of every message written to the development mail drop."""
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append((str(message["Message-ID"]), str(message["To"])))
    return found


async def test_a_server_killed_mid_burst_leaves_every_approval_exactly_once(
    own_db, own_database_url, tmp_path
):
    maker, checker = await make_actor(own_db, "maker"), await make_actor(own_db, "checker")
    await own_db.dispose()
    data_dir = tmp_path / "app"
    first = _server(own_database_url, data_dir).start()
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as http:
            payloads = [user_payload() for _ in range(ACTIONS)]
            submitted = [
                await http.post(
                    "/api/workflow/actions",
                    json={"actionType": "create_user", "payload": payload},
                    headers=maker.headers,
                )
                for payload in payloads
            ]
        assert {r.status_code for r in submitted} == {201}
        ids = [r.json()["data"]["id"] for r in submitted]
        answers = await _approve_in_burst(first, checker.headers, ids)
    finally:
        first.stop()
    assert sum(a == 200 for a in answers.values()) >= KILL_AFTER
    cut = {"RemoteProtocolError", "ReadError", "WriteError", "ConnectError"}
    assert all(a == 200 or a in cut for a in answers.values()), answers
    assert any(a in cut for a in answers.values())  # the kill did land mid-burst

    conn = await asyncpg.connect(own_database_url)
    # the killed sender's claims would expire after CLAIM_FOR: let them expire now
    await conn.execute(
        "UPDATE outbound_emails SET claimed_until = now() - interval '1 second'"
        " WHERE sent_at IS NULL AND claimed_until IS NOT NULL"
    )
    second = _server(own_database_url, data_dir, MAIL_RETRY_SECONDS="0.5").start()
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=30) as http:
            # what the kill left pending is approved now; what it approved is refused as decided
            for action_id in ids:
                response = await http.post(
                    f"/api/workflow/actions/{action_id}/review",
                    json={"status": "approved"},
                    headers=checker.headers,
                )
                # a cut request may have committed before its answer was lost: then it is decided
                expected = {409} if answers[action_id] == 200 else {200, 409}
                assert response.status_code in expected, (answers[action_id], response.text)
        await _until(conn, "SELECT count(*) FROM outbound_emails WHERE sent_at IS NULL", "mail left unsent")
        await _until(
            conn,
            "SELECT count(*) FROM audit_events e"
            " WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)",
            "audit events left unsealed",
        )
    finally:
        second.stop()

    try:
        await _check_invariants(conn, payloads, ids, {maker.user.username, checker.user.username})
        outbox = await conn.fetch("SELECT id, to_address FROM outbound_emails")
    finally:
        await conn.close()

    delivered = _delivered(data_dir / "mail")
    assert Counter(delivered) == Counter(
        (f"<{row['id'].hex}@maker-checker>", row["to_address"]) for row in outbox
    )
    assert sorted(to for _, to in delivered) == sorted(p["email"] for p in payloads)  # once each

    verified = await anyio.run_process(
        [str(SCRIPT), "verify-audit"],
        env=os.environ | {"DATABASE_URL": own_database_url},
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert verified.returncode == 0, (verified.stdout + verified.stderr).decode()


async def _check_invariants(
    conn: asyncpg.Connection, payloads: list[dict], ids: list[str], actors: set[str]
) -> None:
    statuses = dict(await conn.fetch("SELECT id::text, status FROM workflow_actions"))
    assert {statuses[action_id] for action_id in ids} == {"approved"}

    # each approved action's effect exactly once, and no user without an approved action
    users = Counter(r["username"] for r in await conn.fetch("SELECT username FROM users"))
    assert users == Counter({p["username"]: 1 for p in payloads} | dict.fromkeys(actors, 1))

    per_action = await conn.fetch(
        "SELECT a.id::text AS id,"
        " (SELECT count(*) FROM action_reviews r WHERE r.action_id = a.id) AS reviews,"
        " (SELECT count(*) FROM audit_events e WHERE e.action_id = a.id"
        "    AND e.event_type = 'action_approved') AS approvals_audited"
        " FROM workflow_actions a"
    )
    assert {(r["reviews"], r["approvals_audited"]) for r in per_action} == {(1, 1)}

    # the queue's counters agree with the rows they count
    counted = dict(await conn.fetch("SELECT status, sum(n)::int FROM workflow_action_counts GROUP BY status"))
    actual = dict(await conn.fetch("SELECT status, count(*)::int FROM workflow_actions GROUP BY status"))
    assert {status: n for status, n in counted.items() if n} == actual
