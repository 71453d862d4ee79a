"""Sending the outbox once a response has gone out, i.e. after its transaction committed."""

from typing import Any

from litestar import Request
from litestar.background_tasks import BackgroundTask

from app.mail import deliver_pending
from app.settings import get_settings


def send_queued_mail(request: Request[Any, Any, Any]) -> BackgroundTask:
    return BackgroundTask(deliver_pending, request.app.state.db, get_settings())
