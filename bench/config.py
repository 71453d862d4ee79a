"""The bench's knobs, read from the environment once (BENCH_QUICK=1 for a run of about a minute)."""

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Config:
    quick: bool
    concurrency: int
    """Clients of the closed loop, and pgbench's clients."""
    workers: int
    """`serve --workers` of the main run; a 1-worker run of submit and approve is added for information."""
    writes: int
    """Submissions per run (each then approved once); bounded in time too."""
    reads: int
    """Requests per list or queue phase; bounded in time too."""
    phase_seconds: float
    """The longest any one load phase may run."""
    pgbench_seconds: int
    sizes: tuple[int, ...]
    """Pending actions in the table for the list and queue phases."""
    list_pages: tuple[int, ...]
    checkers: int
    """Makers and checkers; the loop's clients take turns with their tokens (and checkers' sessions)."""

    @classmethod
    def from_env(cls) -> "Config":
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        default_sizes = "1000,10000" if quick else "1000,10000,100000,1000000"
        return cls(
            quick=quick,
            concurrency=_int("BENCH_CONCURRENCY", 32),
            workers=_int("BENCH_WORKERS", 2),
            writes=_int("BENCH_WRITES", 200 if quick else 6000),
            reads=_int("BENCH_READS", 100 if quick else 3000),
            phase_seconds=_float("BENCH_PHASE_SECONDS", 5 if quick else 30),
            pgbench_seconds=_int("BENCH_PGBENCH_SECONDS", 5 if quick else 20),
            sizes=tuple(int(size) for size in os.environ.get("BENCH_SIZES", default_sizes).split(",")),
            list_pages=(1, 2, 3, 4),
            checkers=_int("BENCH_CHECKERS", 4),
        )
