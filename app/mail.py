"""Outgoing email through an outbox: queued inside the transaction, delivered after it commits.

A message is queued with the change that causes it, so it exists only if that change commits;
delivery happens afterwards (a response's background task, and at start-up for leftovers).
A sender claims rows (SKIP LOCKED, then a claim with an expiry, committed at once), talks to the
mail server outside any transaction on threads of its own with a timeout, and records the
outcome in another short transaction: a silent mail server holds no lock, no connection and no
thread anything else needs. Several app processes never send one message twice; a sender that
dies leaves a claim that expires, and the message is sent by a later run.
With SMTP_HOST set, mail goes out by SMTP; otherwise it is written as .eml files under
DATA_DIR/mail, for development. A delivered message's body is erased: it may hold a
one-time link that should live only in the recipient's mailbox.
"""

import asyncio
import logging
import os
import re
import smtplib
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import SESSION_QUEUED_MAIL, Database
from app.models import OutboundEmail, utcnow
from app.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 20
CLAIM_FOR = timedelta(minutes=15)
"""How long a claimed message is left to its sender: far longer than a send can take (SMTP_TIMEOUT
per exchange, a few exchanges, a short wait for a mail thread)."""

_MAIL_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mail")
"""Mail's own threads: a slow mail server occupies these, never the pool that requests use."""


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
    timeout: float

    def send(self, message: EmailMessage) -> str:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
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
        """Write the message once: a message sent again (its sender died before recording that
        it went out, and the claim expired) finds its file by its Message-ID and is not repeated."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = _message_key(message)
        if already := next(self.directory.glob(f"*-{key}.eml"), None):
            return str(already)
        # named by the nanosecond, so that the names sort in the order the messages were sent
        path = self.directory / f"{time.time_ns()}-{key}.eml"
        # written aside, then renamed: a process killed mid-write leaves no half message under
        # the name that a later retry takes for "already sent"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(bytes(message))
        os.replace(partial, path)
        return str(path)


def _message_key(message: EmailMessage) -> str:
    """The outbox row's id in the Message-ID (hex), or a fresh one for a message without it."""
    found = re.fullmatch(r"<([0-9a-f]{32})@maker-checker>", str(message.get("Message-ID", "")))
    return found.group(1) if found else uuid.uuid4().hex


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    return FileTransport(settings.data_dir / "mail")


def _as_email(row: OutboundEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, row.to_address, row.subject
    # one id per outbox row: sent twice (a sender killed before it recorded the send), the copies
    # are recognisable as one message
    message["Message-ID"] = f"<{row.id.hex}@maker-checker>"
    message.set_content(row.body or "")
    return message


async def deliver_pending(db: Database, settings: Settings) -> int:
    """Send what the outbox holds; returns how many messages went out.

    Each message gets at most one attempt per call: a failed one is released for a later run."""
    transport, sent, tried = transport_for(settings), 0, set[uuid.UUID]()
    while True:
        rows = await _claim(db, exclude=tried)
        tried.update(row.id for row in rows)
        outcomes = await asyncio.gather(*(_send(row, transport, settings.mail_from) for row in rows))
        await _record(db, rows, outcomes)
        sent += sum(error is None for error in outcomes)
        if len(rows) < BATCH:
            return sent


async def _claim(db: Database, *, exclude: set[uuid.UUID]) -> list[OutboundEmail]:
    """Claim up to BATCH unsent messages, counting the attempt, and commit at once."""
    now = utcnow()
    async with db.sessions() as session, session.begin():
        query = (
            select(OutboundEmail)
            .where(
                col(OutboundEmail.sent_at).is_(None),
                OutboundEmail.attempts < MAX_ATTEMPTS,
                or_(col(OutboundEmail.claimed_until).is_(None), col(OutboundEmail.claimed_until) < now),
            )
            .order_by(col(OutboundEmail.created_at))
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        if exclude:
            query = query.where(col(OutboundEmail.id).not_in(exclude))
        rows = list((await session.exec(query)).all())
        for row in rows:
            row.attempts += 1
            row.claimed_until = now + CLAIM_FOR
            session.add(row)
    return rows


async def _send(row: OutboundEmail, transport: Transport, sender: str) -> str | None:
    """Send one message on the mail threads; None when it went out, else why not."""
    loop = asyncio.get_running_loop()
    try:
        where = await loop.run_in_executor(_MAIL_THREADS, transport.send, _as_email(row, sender))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to %s failed (attempt %d): %s", row.to_address, row.attempts, exc)
        return str(exc)[:500] or type(exc).__name__
    except Exception as exc:  # a message that cannot be built or sent: recorded, not left claimed
        log.exception("mail to %s failed (attempt %d)", row.to_address, row.attempts)
        return str(exc)[:500] or type(exc).__name__
    log.info("mail to %s delivered: %s", row.to_address, where)
    return None


async def _record(db: Database, rows: Sequence[OutboundEmail], outcomes: Sequence[str | None]) -> None:
    """Mark what went out (body erased) and release what failed, in one short transaction."""
    if not rows:
        return
    async with db.sessions() as session, session.begin():
        for row, error in zip(rows, outcomes, strict=True):
            by_id = update(OutboundEmail).where(col(OutboundEmail.id) == row.id)
            if error is None:
                values = {"sent_at": utcnow(), "body": None, "last_error": None, "claimed_until": None}
                await session.exec(by_id.values(**values))  # type: ignore[call-overload]
            else:
                # only our own claim is released: one that expired and was taken over is not ours
                ours = by_id.where(col(OutboundEmail.claimed_until) == row.claimed_until)
                await session.exec(ours.values(last_error=error, claimed_until=None))  # type: ignore[call-overload]


async def deliver_periodically(db: Database, settings: Settings) -> None:
    """Deliver now (mail left by a process that stopped) and then every MAIL_RETRY_SECONDS, so
    that failed messages and claims of a sender that died are retried even when no request queues
    new mail. Runs until cancelled."""
    while True:
        try:
            await deliver_pending(db, settings)
        except (SQLAlchemyError, OSError):
            log.exception("could not deliver queued mail (is the database migrated and reachable?)")
        await asyncio.sleep(settings.mail_retry_seconds)
