"""DB_POOL_SIZE: the connections each app process keeps, so a busy process does not open one per request."""

import pytest

from app.settings import ConfigurationError, Settings


def test_the_pool_holds_32_connections_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    assert Settings().db_pool_size == 32
    monkeypatch.setenv("DB_POOL_SIZE", "48")
    assert Settings().db_pool_size == 48


@pytest.mark.parametrize("value", ["abc", "0", "-3", "2.5"])
def test_an_unusable_pool_size_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("DB_POOL_SIZE", value)
    with pytest.raises(ConfigurationError, match="DB_POOL_SIZE"):
        Settings().check()


def test_the_app_opens_its_pool_with_the_configured_size(monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never connected to
    from app.main import create_app

    pool = create_app().state.db.engine.pool
    assert pool.size() == 7
    assert pool._max_overflow == 4  # a few extra, closed on return; not one per request
