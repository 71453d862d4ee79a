"""Bounded request bodies: an oversize body is refused with 413 before CSRF or form parsing reads it,
and what a bounded body can still carry (unknown keys, long lists) gets a small, capped 400."""

import json

import pytest
from litestar.testing import AsyncTestClient

from app.actions.base import MAX_REPORTED_ERRORS
from app.settings import Settings
from tests.factories import user_payload
from tests.http.conftest import HX, PASSWORD, csrf_from_page, csrf_headers, fetch

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"
LIMIT = Settings().max_body_bytes
MEGABYTE = 1024 * 1024


def test_the_default_limit_is_64_kb():
    assert LIMIT == 64 * 1024


async def test_a_1_mb_form_posted_anonymously_to_login_is_refused_with_413(client, db, person):
    ana = await person("maker")
    token = csrf_from_page((await client.get("/login")).text)
    # a million tiny fields, with good credentials and a good token: only the size is wrong
    form = f"username={ana.user.username}&password={PASSWORD.replace(' ', '+')}&_csrf_token={token}&"
    body = (form + "f=&" * (MEGABYTE // 3)).encode()
    assert len(body) >= MEGABYTE

    response = await client.post(
        "/login",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )

    assert response.status_code == 413
    assert "<html" in response.text
    assert "64 KB" in response.text
    assert await fetch(db, "SELECT 1 FROM audit_events WHERE event_type LIKE 'login_%'") == []


async def test_an_oversize_body_without_a_length_is_refused_once_past_the_limit(db):
    """Sent in chunks without Content-Length: counted as it arrives, and reading stops past the limit."""
    from app.main import create_app

    chunk, chunks_sent, messages = b"f=&" * 1000, 0, []

    async def receive():
        nonlocal chunks_sent
        chunks_sent += 1
        return {"type": "http.request", "body": chunk, "more_body": chunks_sent < 400}  # 1.2 MB in all

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/login",
        "raw_path": b"/login",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver.local"), (b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    await create_app()(scope, receive, send)

    assert messages[0]["status"] == 413
    assert chunks_sent * len(chunk) <= LIMIT + len(chunk)


async def test_an_oversize_htmx_form_gets_a_fragment_saying_why(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    body = {"actionType": "create_user", "fullName": "x" * (LIMIT + 1)}

    response = await client.post("/actions/new", data=body, headers=HX | csrf_headers(client))

    assert response.status_code == 413
    assert "<html" not in response.text
    assert "64 KB" in response.text


async def test_an_oversize_api_body_gets_a_413_envelope(client, db, maker):
    payload = user_payload(fullName="x" * (LIMIT + 1))
    response = await client.post(
        ACTIONS, json={"actionType": "create_user", "payload": payload}, headers=maker.headers
    )
    assert response.status_code == 413
    body = response.json()
    assert body["success"] is False
    assert "64 KB" in body["error"]


async def test_a_body_just_under_the_limit_is_accepted(client, maker):
    body = json.dumps({"actionType": "create_user", "payload": user_payload()})
    padded = body + " " * (LIMIT - len(body))
    assert len(padded) == LIMIT
    response = await client.post(
        ACTIONS, content=padded, headers=maker.headers | {"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_max_body_bytes_is_a_setting(db, maker, monkeypatch):
    from app.main import create_app
    from app.settings import get_settings

    monkeypatch.setenv("MAX_BODY_BYTES", "1000")
    get_settings.cache_clear()
    async with AsyncTestClient(app=create_app()) as small:
        payload = user_payload(fullName="x" * 1000)
        response = await small.post(
            ACTIONS, json={"actionType": "create_user", "payload": payload}, headers=maker.headers
        )
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["error"]


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_max_body_bytes_must_be_a_positive_number(value, monkeypatch):
    from app.settings import ConfigurationError

    monkeypatch.setenv("MAX_BODY_BYTES", value)
    with pytest.raises(ConfigurationError, match="MAX_BODY_BYTES"):
        Settings().check()


# --- what fits under the limit is still answered in a few lines ----------------------------------


def _assert_capped(response, field_names_sent: int) -> list[dict[str, str]]:
    assert response.status_code == 400, response.text[:500]
    assert len(response.content) < 4000, f"{len(response.content)} bytes of error"
    details = response.json()["details"]
    assert len(details) <= MAX_REPORTED_ERRORS + 1
    more = details[-1]["message"]
    assert f"{field_names_sent - MAX_REPORTED_ERRORS} more" in more, details[-1]
    return details


async def test_thousands_of_unknown_payload_keys_get_a_small_400(client, db, maker):
    unknown = {f"k{n}": 1 for n in range(5000)}
    body = {"actionType": "create_user", "payload": user_payload() | unknown}
    assert len(json.dumps(body)) < LIMIT

    response = await client.post(ACTIONS, json=body, headers=maker.headers)

    details = _assert_capped(response, 5000)
    assert details[0] == {"field": "k0", "message": "Unknown field"}
    assert await fetch(db, "SELECT 1 FROM workflow_actions") == []


async def test_unknown_payload_keys_are_refused_before_the_payload_is_walked(client, maker, monkeypatch):
    from app.actions.create_user import CreateUserPayload

    walked: list[object] = []
    original = CreateUserPayload.model_validate.__func__

    def spying(cls, raw, *args, **kwargs):
        walked.append(raw)
        return original(cls, raw, *args, **kwargs)

    monkeypatch.setattr(CreateUserPayload, "model_validate", classmethod(spying))
    body = {"actionType": "create_user", "payload": user_payload() | {f"k{n}": 1 for n in range(3000)}}

    response = await client.post(ACTIONS, json=body, headers=maker.headers)

    assert response.status_code == 400
    # the validator saw at most the model's own fields, never the thousands of others
    assert all(len(raw) <= len(CreateUserPayload.model_fields) for raw in walked), [len(r) for r in walked]


async def test_thousands_of_unknown_envelope_keys_get_a_small_400(client, maker):
    body = {"actionType": "create_user", "payload": user_payload()} | {f"k{n}": 1 for n in range(5000)}
    response = await client.post(ACTIONS, json=body, headers=maker.headers)
    _assert_capped(response, 5000)


async def test_thousands_of_bad_list_items_get_a_small_400(client, maker):
    payload = user_payload(roles=["nope"] * 5000)
    response = await client.post(
        ACTIONS, json={"actionType": "create_user", "payload": payload}, headers=maker.headers
    )
    _assert_capped(response, 5000)


async def test_thousands_of_unknown_review_keys_get_a_small_400(client, maker, checker):
    from tests.factories import submit

    action = await submit(client, maker, "create_user", user_payload())
    body = {"status": "approved"} | {f"k{n}": 1 for n in range(5000)}
    response = await client.post(f"{ACTIONS}/{action['id']}/review", json=body, headers=checker.headers)
    _assert_capped(response, 5000)
