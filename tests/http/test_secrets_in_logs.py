"""A failure on a secret-carrying request logs the failure, never the secret: activation tokens
(in the path) and bearer tokens are redacted in every log line, error logs included."""

import logging

import pytest

from app.accounts import controller

pytestmark = pytest.mark.anyio

TOKEN = "s3cr3t-activation-token-0123456789"


async def test_a_500_on_an_activation_link_does_not_log_its_token(client, monkeypatch, caplog):
    async def broken(*_args, **_kwargs):
        raise RuntimeError(f"lookup failed for /activate/{TOKEN}")

    monkeypatch.setattr(controller, "find_activation", broken)
    caplog.set_level(logging.INFO)

    response = await client.get(f"/activate/{TOKEN}")

    assert response.status_code == 500
    assert "unhandled error" in caplog.text  # the failure itself is logged
    assert "/activate/" in caplog.text
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")


async def test_bearer_tokens_and_activation_paths_are_redacted_in_any_logger(client, caplog):
    caplog.set_level(logging.INFO)
    bearer = "mc_0123456789abcdefSECRET"
    for name in ("app.anything", "litestar", "uvicorn.error", "root-level"):
        logging.getLogger(name).warning(
            "calling with Authorization: Bearer %s on %s", bearer, f"/activate/{TOKEN}"
        )
        logging.getLogger(name).info({"path": f"/activate/{TOKEN}?next=/"})
    try:
        raise ValueError(f"Bearer {bearer} /activate/{TOKEN}")
    except ValueError:
        logging.getLogger("app.web.errors").exception("failed")

    assert "Bearer …" in caplog.text
    assert bearer not in caplog.text
    assert TOKEN not in caplog.text
