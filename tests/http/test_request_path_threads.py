"""Nothing on the request path waits for a shared worker thread: hooks, guards, handlers and
dependencies are async, and the slow blocking work (argon2, mail) runs on threads of its own."""

import threading
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.utils.predicates import is_async_callable
from litestar.utils.sync import AsyncCallable

from app.accounts import passwords

pytestmark = pytest.mark.anyio


def _hooks(handler: Any) -> list[tuple[str, Any]]:
    found = [
        (f"guard of {handler}", guard) for layer in handler.ownership_layers for guard in layer.guards or []
    ]
    for layer in handler.ownership_layers:
        for name in ("before_request", "after_request", "after_response"):
            hook = getattr(layer, name, None)
            if hook is not None:
                found.append((f"{name} of {layer}", hook))
    return found


async def test_no_hook_guard_handler_or_dependency_runs_on_a_worker_thread(client):
    app = client.app
    sync: list[str] = [f"before_send {hook}" for hook in app.before_send if not is_async_callable(hook)]
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not is_async_callable(handler.fn) and handler.sync_to_thread is not False:
                sync.append(f"handler {handler}")
            sync += [what for what, hook in _hooks(handler) if not is_async_callable(hook)]
            for name, provide in handler.resolve_dependencies().items():
                # a synchronous dependency marked sync_to_thread=False runs inline, on the loop
                if isinstance(provide.dependency, AsyncCallable):
                    sync.append(f"dependency {name} of {handler}")
    assert sync == []


async def test_argon2_runs_on_its_own_bounded_threads(monkeypatch):
    threads: list[str] = []
    real_verify = passwords.verify_password

    def recording_verify(password_hash: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", recording_verify)
    assert await passwords.verify_password_async(None, "whatever") is False
    assert len(threads) == 1
    assert threads[0].startswith("argon2")
    assert passwords.ARGON2_THREADS._max_workers <= 4
