"""The mail outbox: queued with the change, sent after commit, once, with the secret body erased."""

import asyncio
import email
import email.policy
from dataclasses import replace
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import func, select

from app.mail import MAX_ATTEMPTS, deliver_pending, queue_email
from app.models import OutboundEmail
from app.settings import Settings, get_settings
from tests.servers import free_port

pytestmark = pytest.mark.anyio


def file_settings(tmp_path: Path) -> Settings:
    return replace(get_settings(), data_dir=tmp_path, smtp_host=None)


async def queue(db, *addresses: str) -> None:
    async with db.sessions() as session, session.begin():
        for address in addresses:
            queue_email(session=session, to=address, subject="Hello", body=f"secret link for {address}")


async def outbox(db) -> list[OutboundEmail]:
    async with db.sessions() as session:
        return list((await session.exec(select(OutboundEmail))).all())


async def test_queued_mail_is_written_once_and_its_body_erased(db, tmp_path):
    await queue(db, "ana@example.com")
    settings = file_settings(tmp_path)

    assert await deliver_pending(db, settings) == 1
    assert await deliver_pending(db, settings) == 0

    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "ana@example.com"
    assert "secret link for ana@example.com" in message.get_body().get_content()
    (row,) = await outbox(db)
    assert row.sent_at is not None
    assert row.body is None


async def test_mail_of_a_rolled_back_change_is_never_sent(db, tmp_path):
    async with db.sessions() as session:
        await session.begin()
        queue_email(session=session, to="ghost@example.com", subject="Hello", body="never")
        await session.flush()
        await session.rollback()
    assert await deliver_pending(db, file_settings(tmp_path)) == 0
    assert await outbox(db) == []


async def test_processes_delivering_at_once_send_each_message_once(db, tmp_path):
    await queue(db, *(f"user{i}@example.com" for i in range(45)))
    settings = file_settings(tmp_path)

    sent = await asyncio.gather(*(deliver_pending(db, settings) for _ in range(3)))

    assert sum(sent) == 45
    recipients = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["To"]
        for path in (tmp_path / "mail").glob("*.eml")
    ]
    assert sorted(recipients) == sorted(f"user{i}@example.com" for i in range(45))


async def test_smtp_delivery(db):
    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        await queue(db, "smtp.user@example.com")
        settings = replace(
            get_settings(), smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False
        )
        assert await deliver_pending(db, settings) == 1
    finally:
        controller.stop()
    message = email.message_from_bytes(received[0], policy=email.policy.default)
    assert message["To"] == "smtp.user@example.com"
    assert message["From"] == settings.mail_from


async def test_a_failing_mail_server_is_retried_a_bounded_number_of_times(db):
    await queue(db, "later@example.com")
    unreachable = replace(get_settings(), smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)

    for _ in range(MAX_ATTEMPTS + 2):
        assert await deliver_pending(db, unreachable) == 0

    (row,) = await outbox(db)
    assert row.attempts == MAX_ATTEMPTS
    assert row.sent_at is None
    assert row.last_error
    assert row.body == "secret link for later@example.com"  # kept until it is delivered
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(OutboundEmail))).one() == 1
