"""Admission control for password logins: each process verifies passwords at a bounded rate.

A login costs an Argon2 verification (tens of milliseconds of CPU and 64 MiB) and holds a database
connection while it waits for one of the few Argon2 threads. So before any of that, an attempt must be
admitted:

- per client address, a budget of failures that drains over time (one per DRAIN_SECONDS): past it, the
  address waits, twice as long each time it spends the budget again (up to MAX_BLOCK_SECONDS), and is
  answered 429 with Retry-After; and at most MAX_IN_FLIGHT_PER_ADDRESS of its attempts run at once;
- overall, at most MAX_PENDING attempts run or wait for a thread at once; beyond that the answer is
  503 with Retry-After at once, instead of a queue without bound.

A refused attempt costs no hash, no database access and no audit row. The state is in this process's
memory (see the README's security section for why that is enough): every app process has its own.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

BUDGET = 10
"""Failed logins an address may have outstanding; more than an account's own lockout (5), so one
person mistyping their password locks their account before their address."""
DRAIN_SECONDS = 60.0
"""One failure of an address is forgiven per this many seconds."""
MAX_BLOCK_SECONDS = 15 * 60.0
MAX_IN_FLIGHT_PER_ADDRESS = 2
MAX_PENDING = 8
"""Attempts running or waiting for an Argon2 thread at once, in this process (4 per thread)."""
_SWEEP_ABOVE = 10_000  # addresses remembered before drained ones are forgotten in one sweep


class LoginRefused(Exception):
    """The attempt was not admitted; status_code is 429 (this address) or 503 (the server is busy)."""

    def __init__(self, status_code: int, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = max(1, math.ceil(retry_after))
        self.message = message


@dataclass
class _Address:
    level: float = 0.0
    """Failures not yet forgiven."""
    updated: float = 0.0
    in_flight: int = 0
    blocked_until: float = 0.0
    strikes: int = 0
    """Times the budget was spent since the level last drained to zero: each doubles the wait."""

    def drain(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self.updated) / DRAIN_SECONDS)
        self.updated = now
        if self.level == 0:
            self.strikes = 0

    @property
    def failures(self) -> int:
        """Failures outstanding: one partly forgiven still counts."""
        return math.ceil(self.level - 1e-9)  # no float dust past a whole failure

    def idle(self, now: float) -> bool:
        """Nothing left to remember: the address is as good as one never seen."""
        return self.level == 0 and self.in_flight == 0 and now >= self.blocked_until


@dataclass(frozen=True)
class Ticket:
    address: str


class LoginThrottle:
    """One per app (kept in app.state): admit() before verifying a password, settle() after."""

    def __init__(
        self,
        *,
        budget: int = BUDGET,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget, self.max_pending, self.clock = budget, max_pending, clock
        self.pending = 0
        self._addresses: dict[str, _Address] = {}

    def admit(self, address: str) -> Ticket:
        """A ticket to settle once the attempt is over; raises LoginRefused."""
        now = self.clock()
        record = self._addresses.get(address) or _Address(updated=now)
        record.drain(now)
        if now < record.blocked_until:
            raise LoginRefused(429, record.blocked_until - now, _too_many(record.blocked_until - now))
        if record.in_flight >= MAX_IN_FLIGHT_PER_ADDRESS or record.failures + record.in_flight >= self.budget:
            # the attempts still running decide whether this address has spent its budget
            raise LoginRefused(429, 1, _too_many(1))
        if self.pending >= self.max_pending:
            raise LoginRefused(503, 1, "The server is busy with other logins. Try again in a moment.")
        record.in_flight += 1
        self.pending += 1
        self._addresses[address] = record
        return Ticket(address)

    def settle(self, ticket: Ticket, *, failed: bool) -> None:
        now = self.clock()
        record = self._addresses[ticket.address]
        record.in_flight -= 1
        self.pending -= 1
        record.drain(now)
        if failed:
            record.level += 1
            if record.failures >= self.budget:
                record.blocked_until = now + min(DRAIN_SECONDS * 2**record.strikes, MAX_BLOCK_SECONDS)
                record.strikes += 1
        if record.idle(now):
            del self._addresses[ticket.address]
        elif len(self._addresses) > _SWEEP_ABOVE:
            self._forget_drained(now)

    @property
    def remembered(self) -> int:
        """Addresses with failures not yet forgiven or attempts running."""
        return len(self._addresses)

    def _forget_drained(self, now: float) -> None:
        for address, record in list(self._addresses.items()):
            record.drain(now)
            if record.idle(now):
                del self._addresses[address]


def _too_many(seconds: float) -> str:
    wait = max(1, math.ceil(seconds))
    when = f"{wait} second{'s' if wait > 1 else ''}" if wait < 120 else f"{math.ceil(wait / 60)} minutes"
    return f"Too many failed logins from your network. Try again in {when}."
