"""`serve` runs one app process per core unless --workers says otherwise."""

import os
from typing import Any

import pytest
from click.testing import CliRunner

import app.cli


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """serve's call to uvicorn.run, captured instead of serving; migrations and signals left alone."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(app.cli, "run_migrations", lambda: None)
    monkeypatch.setattr(app.cli, "_announce_an_empty_database", lambda settings: None)
    monkeypatch.setattr(app.cli.signal, "signal", lambda *args: None)
    return calls


def test_serve_uses_one_worker_per_core_by_default(uvicorn_calls, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    result = CliRunner().invoke(app.cli.main, ["serve"])
    assert result.exit_code == 0, result.output
    assert [call["workers"] for call in uvicorn_calls] == [7]


def test_serve_falls_back_to_one_worker_when_the_core_count_is_unknown(uvicorn_calls, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    result = CliRunner().invoke(app.cli.main, ["serve"])
    assert result.exit_code == 0, result.output
    assert [call["workers"] for call in uvicorn_calls] == [1]


def test_an_explicit_worker_count_wins(uvicorn_calls, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    result = CliRunner().invoke(app.cli.main, ["serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert [call["workers"] for call in uvicorn_calls] == [3]


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_a_worker_count_below_one_is_refused(uvicorn_calls, workers):
    result = CliRunner().invoke(app.cli.main, ["serve", "--workers", workers])
    assert result.exit_code == 2
    assert "--workers" in result.output
    assert uvicorn_calls == []


def test_help_names_the_default():
    result = CliRunner().invoke(app.cli.main, ["serve", "--help"])
    assert "(default: the number of CPU cores)" in " ".join(result.output.split())
