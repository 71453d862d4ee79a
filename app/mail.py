"""Outgoing email through an outbox: queued inside the transaction, delivered after it commits.

A message is queued with the change that causes it, so it exists only if that change commits;
delivery happens afterwards (a response's background task, and at start-up for leftovers).
Rows are claimed with SKIP LOCKED, so several app processes never send one message twice.
With SMTP_HOST set, mail goes out by SMTP; otherwise it is written as .eml files under
DATA_DIR/mail, for development. A delivered message's body is erased: it may hold a
one-time link that should live only in the recipient's mailbox.
"""

import logging
import smtplib
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from litestar.concurrency import sync_to_thread
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import SESSION_QUEUED_MAIL, Database
from app.models import OutboundEmail, utcnow
from app.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 20


QUEUED = SESSION_QUEUED_MAIL
"""Set in a session's info when it queued mail: the request then sends it once it has committed."""


def queue_email(*, session: AsyncSession, to: str, subject: str, body: str) -> OutboundEmail:
    """Add a message to the outbox in the caller's transaction."""
    message = OutboundEmail(to_address=to, subject=subject, body=body)
    session.add(message)
    session.info[QUEUED] = True
    return message


class Transport(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Deliver the message; return where it went (for the log)."""
        ...


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool

    def send(self, message: EmailMessage) -> str:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        return f"smtp://{self.host}:{self.port}"


@dataclass(frozen=True)
class FileTransport:
    directory: Path

    def send(self, message: EmailMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        # named by the nanosecond, so that the names sort in the order the messages were sent
        path = self.directory / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        return str(path)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return FileTransport(settings.data_dir / "mail")


def _as_email(row: OutboundEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row.to_address, row.subject
    message.set_content(row.body or "")
    return message


async def deliver_pending(db: Database, settings: Settings) -> int:
    """Send what the outbox holds; returns how many messages went out."""
    transport, sent = transport_for(settings), 0
    while True:
        async with db.sessions() as session, session.begin():
            rows = (
                await session.exec(
                    select(OutboundEmail)
                    .where(col(OutboundEmail.sent_at).is_(None), OutboundEmail.attempts < MAX_ATTEMPTS)
                    .order_by(col(OutboundEmail.created_at))
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                sent += await _deliver(row, transport, settings.mail_from)
                session.add(row)
        if len(rows) < BATCH:
            return sent


async def _deliver(row: OutboundEmail, transport: Transport, sender: str) -> int:
    row.attempts += 1
    try:
        where = await sync_to_thread(transport.send, _as_email(row, sender))
    except (OSError, smtplib.SMTPException) as exc:
        row.last_error = str(exc)[:500]
        log.warning("mail to %s failed (attempt %d): %s", row.to_address, row.attempts, exc)
        return 0
    row.sent_at, row.body, row.last_error = utcnow(), None, None
    log.info("mail to %s delivered: %s", row.to_address, where)
    return 1
