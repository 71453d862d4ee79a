"""`make bench`: the app under load at concurrency 32, against pgbench's ceiling on the same PostgreSQL.

Starts a fresh database (an embedded server in a temporary DATA_DIR, or a scratch database on
DATABASE_URL's server), measures pgbench alone, then runs `maker-checker serve` with 1 worker
(submit and approve, for information) and with BENCH_WORKERS (default 2: submit, approve, then
list and queue page at each table size). Ends with SQL checks and `verify-audit`, prints one
table and writes bench/results.json and bench/results.png. BENCH_QUICK=1 runs in about a minute.
"""

import asyncio
import subprocess
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from bench import workloads
from bench.checks import Check, sql_checks, verify_audit
from bench.config import Config
from bench.database import PASSWORD, People, Target, create_people, fresh_database
from bench.load import client_session, sign_in
from bench.measure import Phase, PhaseRunner, Pids
from bench.pgbench import Ceiling, run_pgbench
from bench.prefill import fill_pending
from bench.report import write_results
from bench.server import SCRIPT, postmaster_of, serving, tree_cpu

HERE = Path(__file__).resolve().parent
LOGS = HERE / "results"  # git-ignored: the servers' logs
T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop  # the load generator's own CPU per request is lower on it

        return uvloop.run(coroutine)
    except ImportError:
        return asyncio.run(coroutine)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def database_pid(url: str) -> int | None:
    conn = await asyncpg.connect(url)
    try:
        return postmaster_of(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()


def measure_ceiling(target: Target, config: Config, db_pid: int | None) -> tuple[Ceiling, float | None]:
    """pgbench alone, and PostgreSQL's CPU time per transaction meanwhile."""
    before = tree_cpu(db_pid)
    ceiling = run_pgbench(target.url, clients=config.concurrency, seconds=config.pgbench_seconds)
    spent = tree_cpu(db_pid) - before
    return ceiling, round(spent * 1000 / ceiling.transactions, 3) if db_pid else None


async def warm_up(runner: PhaseRunner, base: str, people: People) -> None:
    """Unmeasured reads first, so that the phases do not pay for workers' first connections and imports."""
    listing = workloads.list_pending(base, people.checker_tokens[0], (1,))
    await runner.measure("warm-up", listing, ok={200}, count=4 * runner.concurrency)


async def write_phases(runner: PhaseRunner, base: str, people: People, config: Config) -> list[Phase]:
    """Submit, then approve every action submitted (each approval executes it)."""
    created: list[str] = []
    submit = workloads.submit(base, people.maker_tokens, f"W{runner.workers}", created)
    submitted = await runner.measure("submit", submit, ok={201}, count=config.writes)
    say(f"  submit: {submitted.per_second} req/s, p95 {submitted.p95_ms} ms")
    approve = workloads.approve(base, people.checker_tokens, created)
    approved = await runner.measure("approve", approve, ok={200}, count=len(created))
    say(f"  approve: {approved.per_second} req/s, p95 {approved.p95_ms} ms")
    return [submitted, approved]


async def read_phases(
    runner: PhaseRunner, base: str, target: Target, people: People, config: Config
) -> list[Phase]:
    """List (API) and queue page (HTML) at each table size, the table pre-filled with pending actions."""
    sessions = [await sign_in(base, username, PASSWORD) for username in people.checker_usernames]
    listing = workloads.list_pending(base, people.checker_tokens[0], config.list_pages)
    queue = workloads.queue_page(base, sessions, config.list_pages)
    phases = []
    for size in config.sizes:
        started = time.perf_counter()
        added = await fill_pending(target.url, size, people.maker_ids[0])
        say(f"  pre-filled {added} pending actions in {time.perf_counter() - started:.1f} s")
        for workload, call in (("list", listing), ("queue", queue)):
            phase = await runner.measure(workload, call, ok={200}, count=config.reads, size=size)
            say(f"  {workload} at {size}: {phase.per_second} req/s, p95 {phase.p95_ms} ms")
            phases.append(phase)
    return phases


async def load(
    base: str, app_pid: int, target: Target, people: People, config: Config, workers: int, reads: bool
) -> list[Phase]:
    pids = Pids(app=app_pid, database=await database_pid(target.url))
    async with client_session(config.concurrency) as http:
        runner = PhaseRunner(http, workers, pids, config.concurrency, config.phase_seconds)
        await warm_up(runner, base, people)
        phases = await write_phases(runner, base, people, config)
        if reads:
            phases += await read_phases(runner, base, target, people, config)
    return phases


def server_run(target: Target, people: People, config: Config, workers: int, reads: bool) -> list[Phase]:
    say(f"serve --workers {workers}")
    with serving(target.env, workers, LOGS / f"serve-{workers}-workers.log") as (base, app_pid):
        return run_async(load(base, app_pid, target, people, config, workers, reads))


def final_checks(target: Target, phases: list[Phase]) -> list[Check]:
    approvals = sum(p.statuses.get("200", 0) for p in phases if p.workload == "approve")
    return [*run_async(sql_checks(target.url, approvals)), verify_audit(target.env, SCRIPT)]


def main() -> None:
    config = Config.from_env()
    started = time.time()
    with fresh_database() as target:
        say(f"database ready; migrating ({'quick run' if config.quick else 'full run'})")
        subprocess.run([SCRIPT, "migrate"], env=target.env, check=True, capture_output=True)
        people = run_async(create_people(target.url, config.checkers))
        db_pid = run_async(database_pid(target.url))
        say(f"pgbench, {config.concurrency} clients, {config.pgbench_seconds} s, alone")
        ceiling, ceiling_cpu = measure_ceiling(target, config, db_pid)
        say(f"  ceiling: {ceiling.tps:.0f} TPS")
        phases = server_run(target, people, config, 1, reads=False)
        phases += server_run(target, people, config, config.workers, reads=True)
        say("checking: every approval executed once, and the audit chain")
        checks = final_checks(target, phases)
    write_results(config, ceiling, ceiling_cpu, phases, checks, seconds=time.time() - started)
    if not all(check.ok for check in checks):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
