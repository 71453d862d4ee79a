"""The live queue's LISTEN connection, kept alive: a database restart, a failover or a terminated
backend closes it, and without a new one no queue page would hear of another change."""

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from functools import partial

import asyncpg
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
RECONNECTED = b'{"reconnected": true}'
"""Put on every listened channel once the connection is back: the events missed while it was
down are lost, so every open queue refreshes once (its signal carries no data)."""

_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What connecting or listening raises when the database is unreachable or the connection died."""


def listener_name(pid: int | None = None) -> str:
    """The listener's application_name in pg_stat_activity: which process's listener it is."""
    return f"maker-checker queue listener {pid or os.getpid()}"


def retry_delays(first: float = FIRST_RETRY_SECONDS, last: float = LAST_RETRY_SECONDS) -> Iterator[float]:
    """Seconds to wait before each new attempt: doubling from `first`, then `last` for ever."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, last)


class ReconnectingChannelsBackend(AsyncPgChannelsBackend):
    """Litestar's asyncpg channels backend, with a listener connection that comes back when lost.

    On loss (asyncpg's termination callback) a warning is logged and a task reconnects with
    bounded backoff, LISTENs again on every subscribed channel, logs the recovery and tells every
    subscriber to refresh. Subscribing while the connection is down only records the channel:
    the reconnection LISTENs on it.
    """

    def __init__(self, dsn: str) -> None:
        connect = partial(
            asyncpg.connect,
            dsn=dsn,
            timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={"application_name": listener_name()},
        )
        super().__init__(make_connection=connect)
        self._listener_conn: asyncpg.Connection | None = None  # type: ignore[assignment]
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._listener_conn is not None and not self._listener_conn.is_closed()

    async def on_startup(self) -> None:
        self._listener_lock = asyncio.Lock()
        self._queue = asyncio.Queue()
        self._stopping = False
        try:
            connection = await self._connect()
        except _LOST as error:
            # the database may come up after the server: serve, and keep trying to listen
            log.warning("queue listener: cannot connect to the database (%s); retrying", error)
            self._start_reconnecting()
            return
        self._adopt(connection)

    async def on_shutdown(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        async with self._listener_lock:
            if self._listener_conn is not None:
                with contextlib.suppress(*_LOST):
                    await self._listener_conn.close(timeout=2)
            self._subscribed_channels.clear()
            self._queue = None

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._listener_lock:
            for channel in set(channels) - self._subscribed_channels:
                self._subscribed_channels.add(channel)
                if self.connected:
                    # a connection dying right now is reported to _lost, which LISTENs again
                    with contextlib.suppress(*_LOST):
                        await self._listener_conn.add_listener(channel, self._listener)  # type: ignore[union-attr]

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._listener_lock:
            for channel in set(channels) & self._subscribed_channels:
                self._subscribed_channels.remove(channel)
                if self.connected:
                    with contextlib.suppress(*_LOST):
                        await self._listener_conn.remove_listener(channel, self._listener)  # type: ignore[union-attr]

    def _adopt(self, connection: asyncpg.Connection) -> None:
        self._listener_conn = connection
        connection.add_termination_listener(self._lost)

    def _lost(self, connection: asyncpg.Connection) -> None:
        """asyncpg's termination callback: also called by a close of our own, when stopping."""
        if self._stopping or connection is not self._listener_conn:
            return
        log.warning("queue listener: lost its database connection; reconnecting")
        self._start_reconnecting()

    def _start_reconnecting(self) -> None:
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        started = time.monotonic()
        for attempts, delay in enumerate(retry_delays(), start=1):
            connection = await self._try_listening()
            if connection is not None:
                log.info(
                    "queue listener: reconnected after %.1f s (%d attempt(s)); open queues refresh",
                    time.monotonic() - started,
                    attempts,
                )
                self._refresh_subscribers()
                return
            await asyncio.sleep(delay)

    async def _try_listening(self) -> asyncpg.Connection | None:
        """A new connection LISTENing on every subscribed channel, adopted; None when that failed."""
        try:
            connection = await self._connect()
        except _LOST as error:
            log.debug("queue listener: reconnecting failed: %s", error)
            return None
        async with self._listener_lock:
            try:
                for channel in self._subscribed_channels:
                    await connection.add_listener(channel, self._listener)
            except _LOST as error:
                log.debug("queue listener: listening again failed: %s", error)
                connection.terminate()
                return None
            self._adopt(connection)
        # lost before its termination callback was added: nobody else would notice
        return None if connection.is_closed() else connection

    def _refresh_subscribers(self) -> None:
        if self._queue is None:
            return
        for channel in self._subscribed_channels:
            self._queue.put_nowait((channel, RECONNECTED))
