"""Knowing early that the server stops, so that responses without an end (event streams) can end.

On SIGTERM or Ctrl-C uvicorn stops accepting connections, then waits for the open responses to finish
before it runs the app's lifespan shutdown. An event stream never finishes by itself, so the app also
listens for those signals, chaining to the handler the server installed in its process (each worker
installs its own), and ends its streams as soon as one arrives.
"""

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

SignalHandler = Callable[[int, FrameType | None], Any]


class ServerStopping:
    """What to do once the server begins to stop: each open stream registers how it ends itself."""

    def __init__(self) -> None:
        self.stopping = False
        self._callbacks: set[Callable[[], None]] = set()

    @contextlib.contextmanager
    def on_stop(self, callback: Callable[[], None]) -> Iterator[None]:
        """Call callback when the server begins to stop while inside, at once when it already has."""
        self._callbacks.add(callback)
        try:
            if self.stopping:
                callback()
            yield
        finally:
            self._callbacks.discard(callback)

    def stop(self) -> None:
        self.stopping = True
        for callback in list(self._callbacks):
            callback()

    @contextlib.asynccontextmanager
    async def watch_signals(self, _app: object) -> AsyncGenerator[None, None]:
        """A lifespan: while the app runs, a stop signal also calls stop() on the app's event loop."""
        loop = asyncio.get_running_loop()
        replaced: dict[signal.Signals, tuple[SignalHandler, SignalHandler]] = {}
        # only the main thread may set handlers (a test client may run the app in another thread)
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous = signal.getsignal(signum)
                if callable(previous):  # a server's handler; without one the signal just ends the process
                    handler = self._chained(loop, previous)
                    signal.signal(signum, handler)
                    replaced[signum] = (previous, handler)
        try:
            yield
        finally:
            for signum, (previous, handler) in replaced.items():
                if signal.getsignal(signum) is handler:
                    signal.signal(signum, previous)

    def _chained(self, loop: asyncio.AbstractEventLoop, previous: SignalHandler) -> SignalHandler:
        def handler(signum: int, frame: FrameType | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(self.stop)
            previous(signum, frame)

        return handler
