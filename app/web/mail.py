"""Sending the outbox once a response has gone out, i.e. after its transaction committed."""

from typing import Any

from litestar import Request
from litestar.background_tasks import BackgroundTask
from sqlmodel.ext.asyncio.session import AsyncSession

from app.mail import QUEUED, deliver_pending
from app.settings import get_settings


def send_queued_mail(request: Request[Any, Any, Any], session: AsyncSession) -> BackgroundTask | None:
    """A task sending the outbox, when this request's transaction queued mail."""
    if not session.info.get(QUEUED):
        return None
    return BackgroundTask(deliver_pending, request.app.state.db, get_settings())
