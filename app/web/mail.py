"""Sending the outbox once a response has gone out, i.e. after its transaction committed.

The one place mail leaves after a request: handlers only queue it (app.mail.queue_email) in
their transaction, and app.db marks the request when that transaction commits.
"""

from typing import Any

from litestar import Request

from app.db import MAIL_QUEUED
from app.mail import deliver_pending
from app.settings import get_settings


async def send_mail_after_response(request: Request[Any, Any, Any]) -> None:
    """An after_response hook: sends the outbox when this request committed queued mail."""
    if request.scope.get(MAIL_QUEUED):
        await deliver_pending(request.app.state.db, get_settings())
