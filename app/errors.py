"""Domain errors that carry their HTTP meaning; the web layer turns them into responses."""

import uuid
from typing import Any

from app.db import CommitThenRaise

MAX_REPORTED_ERRORS = 20
"""Problems listed one by one in an answer; the rest are counted, so a bad body gets a short reply."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, details: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "error": self.message}
        if self.details:
            body["details"] = [{"field": field, "message": msg} for field, msg in self.details.items()]
        return body


class InvalidInput(DomainError):
    status_code = 400


class NotAuthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class DuplicatePending(Conflict):
    """A pending action already has one of the submission's unique keys; details say which, by field."""

    def __init__(self, message: str, *, details: dict[str, str], holders: dict[str, uuid.UUID]) -> None:
        super().__init__(message, details=details)
        self.holders = holders
        """The pending action holding each field's key (a form links to it)."""
        self.pending_action_id = next(iter(holders.values()))

    def envelope(self) -> dict[str, Any]:
        return super().envelope() | {"pendingActionId": str(self.pending_action_id)}


PASSWORD_NEEDED = "Enter your password to approve"


class StepUpRefused(Forbidden):
    """An approval whose policy asks for the reviewer's password again (step-up) without it, with a
    wrong one, or from a locked account; details name the password field."""

    def __init__(self, reason: str = PASSWORD_NEEDED) -> None:
        super().__init__(reason, details={"password": reason})


class ExecutionRefused(Conflict, CommitThenRaise):
    """Current data refused the approved operation; the failed attempt's audit event is kept."""


class ActionExpired(Conflict, CommitThenRaise):
    """A review found the action past its time to live; marking it expired is kept."""


class StaleRecord(ExecutionRefused):
    """The record an update changes has changed since the update was submitted: approving it would
    approve something its checker has not seen. Nothing executes, it stays pending; the refusal's
    audit event is kept."""
