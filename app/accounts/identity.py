"""Who a user is: the username, email and role rules, and the "already taken" check.

One place for both ways a user is created: the create_user action (under dual control) and the
CLI's create-user (bootstrap, break-glass).
"""

import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import func
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import exists
from app.errors import InvalidInput
from app.models import Role, User
from app.text import Text

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,49}$"
USERNAME_HINT = "Use 3 to 50 letters, digits, dots, dashes or underscores, starting with a letter or digit"
# A bare address: a dot-atom local part and a host name of two or more labels. No display name,
# angle brackets, quotes, comments, spaces, address literal or trailing dot: mail software reads those
# forms as some other mailbox than the string says, so two "different" addresses could reach one person.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$"
EMAIL_HINT = "Give an email address such as ana@example.com"
BARE_EMAIL_HINT = "Give the address alone, such as ana@example.com: no name, angle brackets or quotes"
TRAILING_DOT_HINT = "Remove the dot at the end of the address"
FORMAT_HINTS = {"email": EMAIL_HINT}
"""Messages for pattern mismatches, by field (see app.actions.base.validation_errors)."""


def normalise(value: Any) -> Any:
    """Usernames and emails are stored and compared lower-case (an email's local part too, though
    RFC 5321 lets a server tell cases apart: no real one does, and one spelling per mailbox keeps
    two users from sharing it) and without surrounding spaces."""
    return value.strip().lower() if isinstance(value, str) else value


def _email_shape(value: str) -> str:
    """The address as normalise() left it, when it is a bare address; else a message fit for the form."""
    if re.fullmatch(EMAIL_PATTERN, value):
        return value
    if any(mark in value for mark in '<>"()'):
        raise ValueError(BARE_EMAIL_HINT)
    if value.endswith(".") and re.fullmatch(EMAIL_PATTERN, value.rstrip(".")):
        raise ValueError(TRAILING_DOT_HINT)
    raise ValueError(EMAIL_HINT)


def _username_shape(value: str) -> str:
    if not re.fullmatch(USERNAME_PATTERN, value):
        raise ValueError(USERNAME_HINT)
    return value


def normalise_roles(roles: Iterable[Role]) -> list[Role]:
    """Each role once, in the order Role lists them; at least one."""
    ordered = sorted(set(roles), key=list(Role).index)
    if not ordered:
        raise ValueError("Choose at least one role")
    return ordered


Username = Annotated[
    Text, BeforeValidator(normalise), Field(min_length=3, max_length=50), AfterValidator(_username_shape)
]
Email = Annotated[Text, BeforeValidator(normalise), Field(max_length=254), AfterValidator(_email_shape)]
"""Stored as normalise() gives it: lower-case, local part included (one mailbox, one spelling)."""
FullName = Annotated[Text, Field(min_length=1, max_length=200)]
Roles = Annotated[list[Role], AfterValidator(normalise_roles)]


class IdentityFields(BaseModel):
    """The identity fields on their own, for the CLI (the action's payload has them too)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True)

    username: Username
    email: Email
    full_name: FullName | None = None


def identity_problems(username: str, email: str, full_name: str | None) -> dict[str, str]:
    """{field: message} for what the rules refuse; empty when all is well."""
    from app.actions.base import validation_errors

    try:
        IdentityFields.model_validate({"username": username, "email": email, "fullName": full_name})
    except ValidationError as exc:
        return validation_errors(exc, FORMAT_HINTS)
    return {}


def parse_roles(text: str) -> list[str]:
    """'maker,checker' -> ['maker', 'checker']; raises InvalidInput on unknown roles."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    known = {role.value for role in Role}
    if not names or any(name not in known for name in names):
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInput(f"Roles must be a comma-separated list of: {allowed}", details={"roles": text})
    return [role.value for role in normalise_roles(Role(name) for name in names)]


async def identity_conflicts(session: AsyncSession, *, username: str, email: str) -> dict[str, str]:
    """{field: message} for a username or email another user already has (compared normalised)."""
    username, email = normalise(username), normalise(email)
    conflicts: dict[str, str] = {}
    if await exists(session, User.username == username):
        conflicts["username"] = f"The username {username} is already taken"
    if await exists(session, func.lower(User.email) == email):
        conflicts["email"] = f"The email {email} is already in use"
    return conflicts
