"""QUEUE_KEEPALIVE_SECONDS: a positive number of seconds, refused with its name otherwise."""

import pytest

from app.settings import ConfigurationError, Settings


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan"])
def test_an_unusable_keepalive_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("QUEUE_KEEPALIVE_SECONDS", value)
    with pytest.raises(ConfigurationError, match="QUEUE_KEEPALIVE_SECONDS"):
        Settings().check()


def test_the_keepalive_defaults_to_15_seconds_and_reads_fractions(monkeypatch):
    monkeypatch.delenv("QUEUE_KEEPALIVE_SECONDS", raising=False)
    assert Settings().queue_keepalive_seconds == 15.0
    monkeypatch.setenv("QUEUE_KEEPALIVE_SECONDS", "0.5")
    assert Settings().queue_keepalive_seconds == 0.5
