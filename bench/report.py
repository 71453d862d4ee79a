"""The bench's output: one table on stdout, bench/results.json and bench/results.png."""

import json
import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.checks import Check
from bench.config import Config
from bench.measure import Phase
from bench.pgbench import Ceiling

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
PLOT = HERE / "results.png"

TARGETS_PCT = {"submit": 8.0, "approve": 6.0, "list": 6.0}
"""issue 7's targets as a share of the ceiling (the queue page's is relative: 1M at least half of 1k)."""

_HEADER = (
    f"{'workload':<10}{'workers':>8}{'rows':>10}{'requests':>9}{'failed':>7}{'req/s':>9}"
    f"{'ceiling':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'app CPU':>9}{'db CPU':>8}"
)


def share(phase: Phase, ceiling: Ceiling) -> float:
    """The phase's throughput as a percentage of pgbench's."""
    return round(100 * phase.per_second / ceiling.tps, 2)


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def _row(phase: Phase, ceiling: Ceiling) -> str:
    db_cpu = "-" if phase.db_cpu_ms is None else f"{phase.db_cpu_ms:.2f}"
    return (
        f"{phase.workload:<10}{phase.workers:>8}{_size(phase.size):>10}{phase.requests:>9}{phase.failures:>7}"
        f"{phase.per_second:>9.1f}{share(phase, ceiling):>8.2f}%{phase.p50_ms:>9.1f}{phase.p95_ms:>9.1f}"
        f"{phase.p99_ms:>9.1f}{phase.app_cpu_ms:>9.2f}{db_cpu:>8}"
    )


def print_table(
    ceiling: Ceiling, ceiling_cpu: float | None, phases: list[Phase], checks: list[Check]
) -> None:
    cpu = "" if ceiling_cpu is None else f", PostgreSQL CPU {ceiling_cpu:.3f} ms/transaction"
    print(f"\nceiling: pgbench {ceiling.tps:,.0f} TPS, latency {ceiling.latency_ms} ms{cpu}")
    print("(ceiling: throughput as a share of it; app CPU and db CPU: CPU ms per request)\n")
    print(_HEADER)
    for phase in phases:
        print(_row(phase, ceiling))
    print("\nchecks:")
    for check in checks:
        verdict = "ok  " if check.ok else "FAIL"
        print(f"  {verdict} {check.name}: {check.value} (expected {check.expected})")


def write_results(
    config: Config,
    ceiling: Ceiling,
    ceiling_cpu: float | None,
    phases: list[Phase],
    checks: list[Check],
    *,
    seconds: float,
) -> None:
    print_table(ceiling, ceiling_cpu, phases, checks)
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "shared": True},
        "config": asdict(config),
        "ceiling": asdict(ceiling) | {"db_cpu_ms_per_transaction": ceiling_cpu},
        "phases": [
            phase.as_json()
            | {"share_of_ceiling_pct": share(phase, ceiling), "target_pct": TARGETS_PCT.get(phase.workload)}
            for phase in phases
        ],
        "checks": [asdict(check) | {"ok": check.ok} for check in checks],
        "seconds": round(seconds, 1),
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    plot(ceiling, phases)
    print(f"\nwrote {RESULTS.relative_to(HERE.parent)} and {PLOT.relative_to(HERE.parent)}")


def plot(ceiling: Ceiling, phases: list[Phase]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(13, 5.2))
    _plot_latency(latency, phases)
    _plot_shares(throughput, ceiling, phases)
    figure.suptitle(
        f"make bench: concurrency 32, ceiling pgbench {ceiling.tps:,.0f} TPS (shared 2-core machine)"
    )
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    plt.close(figure)


def _plot_latency(axes, phases: list[Phase]) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import FuncFormatter

    for workload, colour in (("list", "tab:blue"), ("queue", "tab:orange")):
        sized = sorted((p for p in phases if p.workload == workload), key=lambda p: p.size or 0)
        sizes = [p.size for p in sized]
        axes.plot(sizes, [p.p50_ms for p in sized], "o-", color=colour, label=f"{workload} p50")
        axes.plot(sizes, [p.p95_ms for p in sized], "s--", color=colour, label=f"{workload} p95")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _size(int(x))))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    axes.yaxis.set_minor_formatter(FuncFormatter(_two_and_five))
    axes.set_xlabel("pending actions in the table")
    axes.set_ylabel("latency (ms)")
    axes.set_title("List (API) and queue page (HTML) latency against table size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()


def _two_and_five(value: float, _position: int) -> str:
    """Labels the 2s and 5s between powers of ten, where a narrow range has no power of ten to read."""
    return f"{value:g}" if f"{value:g}"[0] in "25" else ""


def _label(phase: Phase) -> str:
    rows = f" {_size(phase.size)}" if phase.size else ""
    return f"{phase.workload}{rows}, {phase.workers} worker{'s' * (phase.workers > 1)}"


def _plot_shares(axes, ceiling: Ceiling, phases: list[Phase]) -> None:  # type: ignore[no-untyped-def]
    labels = [_label(p) for p in phases]
    shares = [share(p, ceiling) for p in phases]
    bars = axes.barh(range(len(phases)), shares, color="tab:green")
    axes.bar_label(bars, labels=[f"{s:.2f}%" for s in shares], padding=3, fontsize=8)
    targets = [(row, TARGETS_PCT[p.workload]) for row, p in enumerate(phases) if p.workload in TARGETS_PCT]
    axes.scatter([t for _, t in targets], [row for row, _ in targets], marker="|", s=300, color="tab:red")
    axes.scatter([], [], marker="|", s=100, color="tab:red", label="issue 7's target")
    axes.legend(loc="lower right")
    axes.set_yticks(range(len(phases)), labels)
    axes.invert_yaxis()
    axes.set_xlabel("throughput, % of the pgbench ceiling")
    axes.set_title("Throughput as a share of the ceiling")
    axes.grid(True, axis="x", alpha=0.3)
