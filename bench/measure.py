"""One measured phase: a closed loop, and the CPU spent meanwhile by the app, PostgreSQL and the bench."""

from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import psutil

from bench.load import Call, closed_loop
from bench.server import tree_cpu


@dataclass(frozen=True)
class Pids:
    app: int | None
    database: int | None


@dataclass(frozen=True)
class Phase:
    workload: str
    workers: int
    size: int | None
    """Pending actions in the table (list and queue phases)."""
    requests: int
    failures: int
    statuses: dict[str, int]
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    app_cpu_ms: float
    """The server's process tree's CPU time per request."""
    db_cpu_ms: float | None
    loadgen_cpu_ms: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _own_cpu() -> float:
    """This process's CPU seconds alone: the server it started is its child, and counted apart."""
    own = psutil.Process().cpu_times()
    return own.user + own.system


def _samples(pids: Pids) -> tuple[float, float, float]:
    return tree_cpu(pids.app), tree_cpu(pids.database), _own_cpu()


@dataclass(frozen=True)
class PhaseRunner:
    """Runs closed-loop phases against one server and measures them."""

    http: aiohttp.ClientSession
    workers: int
    pids: Pids
    concurrency: int
    seconds: float
    """The longest a phase may run."""

    async def measure(
        self, workload: str, call: Call, *, ok: set[int], count: int, size: int | None = None
    ) -> Phase:
        before = _samples(self.pids)
        outcome = await closed_loop(
            self.http, call, count=count, seconds=self.seconds, concurrency=self.concurrency
        )
        after = _samples(self.pids)
        app, database, loadgen = (a - b for b, a in zip(before, after, strict=True))
        per_request = 1000 / max(outcome.requests, 1)
        return Phase(
            workload=workload,
            workers=self.workers,
            size=size,
            requests=outcome.requests,
            failures=outcome.failures(ok),
            statuses={str(status): n for status, n in sorted(outcome.statuses.items())},
            seconds=round(outcome.seconds, 2),
            per_second=round(outcome.requests / outcome.seconds, 1) if outcome.seconds else 0.0,
            p50_ms=round(outcome.percentile_ms(0.50), 1),
            p95_ms=round(outcome.percentile_ms(0.95), 1),
            p99_ms=round(outcome.percentile_ms(0.99), 1),
            app_cpu_ms=round(app * per_request, 2),
            db_cpu_ms=round(database * per_request, 2) if self.pids.database else None,
            loadgen_cpu_ms=round(loadgen * per_request, 2),
        )
