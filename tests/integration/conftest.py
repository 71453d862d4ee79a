"""A client that really runs requests concurrently.

The shared `client` fixture (Litestar's AsyncTestClient) hands each request to the app's
event loop in another thread and blocks until it is answered, so requests gathered on it
run one after another. Here the app runs on the test's own event loop behind httpx's ASGI
transport: gathered requests interleave at every await, and reach the database together.
"""

from collections.abc import AsyncGenerator

import httpx
import pytest

from app.db import Database


@pytest.fixture
async def live_client(db: Database) -> AsyncGenerator[httpx.AsyncClient, None]:
    from app.main import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client,
    ):
        yield client
