"""Benchmarks: submit, approve and list throughput against a real server process and PostgreSQL.

Run with `make bench`. Uses DATABASE_URL's server when set, else an embedded PostgreSQL under
.data/bench; creates a scratch database, starts `uvicorn` on a free loopback port, and prints
requests per second and latency percentiles. Every loop is bounded in count.
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import Database, ensure_database, plain_dsn, start_embedded_postgres  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.conftest import migrate  # noqa: E402
from tests.factories import make_actor  # noqa: E402

ACTIONS = int(os.environ.get("BENCH_ACTIONS", "400"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
LIST_REQUESTS = int(os.environ.get("BENCH_LIST_REQUESTS", "300"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database() -> str:
    if os.environ.get("DATABASE_URL"):
        server = plain_dsn(os.environ["DATABASE_URL"])
    else:
        server = start_embedded_postgres(Settings(database_url=None, data_dir=ROOT / ".data" / "bench"))
    url = ensure_database(server, f"mc_bench_{uuid.uuid4().hex[:8]}")
    migrate(url)
    return url


async def actors(url: str) -> tuple[str, list[str]]:
    db = Database.connect(url, pool_size=2)
    try:
        maker = await make_actor(db, "maker")
        checkers = [await make_actor(db, "checker") for _ in range(CONCURRENCY)]
    finally:
        await db.dispose()
    return maker.token, [c.token for c in checkers]


def summary(name: str, latencies: list[float], elapsed: float, statuses: dict[int, int]) -> dict[str, object]:
    ordered = sorted(latencies)
    return {
        "name": name,
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        "statuses": statuses,
    }


async def run_batch(
    name: str, calls: list, concurrency: int
) -> tuple[dict[str, object], list[httpx.Response]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(call) -> httpx.Response:  # type: ignore[no-untyped-def]
        async with gate:
            started = time.perf_counter()
            response = await call()
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            return response

    started = time.perf_counter()
    responses = await asyncio.gather(*(one(call) for call in calls))
    return summary(name, latencies, time.perf_counter() - started, statuses), list(responses)


async def benchmark(base: str, maker: str, checkers: list[str]) -> list[dict[str, object]]:
    results = []
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)
    ) as client:

        def submit(i: int):  # type: ignore[no-untyped-def]
            payload = {
                "code": f"B{i:05d}{uuid.uuid4().hex[:4].upper()}",
                "name": "Bench",
                "discountType": "fixed",
                "discountValue": "5",
                "startDate": "2027-01-01",
                "endDate": "2027-02-01",
            }
            body = {"actionType": "create_promotion", "payload": payload}
            return lambda: client.post(
                "/api/workflow/actions", json=body, headers={"Authorization": f"Bearer {maker}"}
            )

        result, responses = await run_batch("submit", [submit(i) for i in range(ACTIONS)], CONCURRENCY)
        results.append(result)
        ids = [r.json()["data"]["id"] for r in responses if r.status_code == 201]

        def approve(i: int, action_id: str):  # type: ignore[no-untyped-def]
            headers = {"Authorization": f"Bearer {checkers[i % len(checkers)]}"}
            return lambda: client.post(
                f"/api/workflow/actions/{action_id}/review", json={"status": "approved"}, headers=headers
            )

        result, _ = await run_batch(
            "approve+execute", [approve(i, a) for i, a in enumerate(ids)], CONCURRENCY
        )
        results.append(result)

        listing = lambda: client.get(  # noqa: E731
            "/api/workflow/actions?status=approved&limit=50&page=2",
            headers={"Authorization": f"Bearer {maker}"},
        )
        result, _ = await run_batch("list (limit 50)", [listing] * LIST_REQUESTS, CONCURRENCY)
        results.append(result)

        race_target = (await submit(ACTIONS + 1)()).json()["data"]["id"]
        result, _ = await run_batch(
            "race: concurrent approvals of one action",
            [approve(i, race_target) for i in range(len(checkers))],
            len(checkers),
        )
        results.append(result)
    return results


def main() -> None:
    url = database()
    maker, checkers = asyncio.run(actors(url))
    port = free_port()
    env = os.environ | {"DATABASE_URL": url, "SECRET_KEY": "bench"}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    command += ["--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        results = asyncio.run(benchmark(f"http://127.0.0.1:{port}", maker, checkers))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{'benchmark':<44}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}  statuses")
    for r in results:
        figures = f"{r['requests']:>9}{r['per_second']:>9}{r['p50_ms']:>9}{r['p95_ms']:>9}"
        print(f"{r['name']:<44}{figures}  {r['statuses']}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"workers": WORKERS, "results": results}, indent=2))


if __name__ == "__main__":
    main()
