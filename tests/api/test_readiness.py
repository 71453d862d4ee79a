"""/ready: the readiness check a load balancer polls; it needs no credentials and says why not."""

import pytest

from app.db import Database, database_answers

pytestmark = pytest.mark.anyio


async def test_ready_answers_200_without_credentials_when_the_database_answers(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_a_database_that_cannot_be_reached_is_not_ready(tmp_path):
    # a socket folder where no server listens: connecting fails at once
    unreachable = Database.connect(f"postgresql://nobody@/none?host={tmp_path}")
    try:
        assert await database_answers(unreachable, within=3) is False
    finally:
        await unreachable.dispose()
