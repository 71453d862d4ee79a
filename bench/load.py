"""A closed-loop load generator on aiohttp: N clients, each sends its next request when the last is answered.

Every phase is bounded in requests and in seconds, and stops by itself.
"""

import asyncio
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

Call = Callable[[aiohttp.ClientSession, int, int], Awaitable[int]]
"""(http, request number, client number) -> the response's status; it may keep what it needs of the body."""

_CSRF_INPUT = re.compile(r'<input[^>]*name="_csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000 if ordered else math.nan

    def failures(self, ok: set[int]) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ok)


def client_session(concurrency: int) -> aiohttp.ClientSession:
    """One pool of keep-alive connections; cookies are sent explicitly, never collected."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def closed_loop(
    http: aiohttp.ClientSession, call: Call, *, count: int, seconds: float, concurrency: int
) -> Outcome:
    """Run `call` up to `count` times with `concurrency` clients, for at most `seconds`."""
    outcome, numbers = Outcome(), itertools.count()
    deadline = time.perf_counter() + seconds

    async def client(client_no: int) -> None:
        while time.perf_counter() < deadline and (number := next(numbers)) < count:
            started = time.perf_counter()
            try:
                status = await call(http, number, client_no)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            outcome.latencies.append(time.perf_counter() - started)
            outcome.statuses[status] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(concurrency)))
    outcome.seconds = time.perf_counter() - started
    return outcome


async def sign_in(base: str, username: str, password: str) -> str:
    """Log in through the form as a browser does; the session cookie's value."""
    jar = aiohttp.CookieJar(unsafe=True)  # unsafe: accept cookies from an IP address (127.0.0.1)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{base}/login") as page:
            found = _CSRF_INPUT.search(await page.text())
        if found is None:
            raise RuntimeError("the login page carries no _csrf_token")
        form = {"username": username, "password": password, "next": "/", "_csrf_token": found.group(1)}
        async with http.post(f"{base}/login", data=form, allow_redirects=False) as answer:
            if answer.status != 303:
                raise RuntimeError(f"login as {username} answered {answer.status}")
        cookie = next((c for c in jar if c.key == "mc_session"), None)
    if cookie is None:
        raise RuntimeError(f"login as {username} set no session cookie")
    return cookie.value
