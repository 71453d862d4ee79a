"""Text that PostgreSQL can store: it holds no U+0000 in text or jsonb, so NUL is refused at the edge."""

from typing import Annotated, Any

from pydantic import BeforeValidator

NUL = "\x00"
NUL_REFUSED = "Must not contain NUL characters"


def holds_nul(value: Any) -> bool:
    return isinstance(value, str) and NUL in value


def _refuse_nul(value: Any) -> Any:
    # before the other checks, so the message names the real problem rather than a pattern
    if holds_nul(value):
        raise ValueError(NUL_REFUSED)
    return value


Text = Annotated[str, BeforeValidator(_refuse_nul)]
"""A string input that refuses NUL characters (a 400 with its field, rather than a 500 from the database)."""


def without_nul(text: str) -> str:
    """Text as typed, less what PostgreSQL cannot hold: for echoing or recording input that was refused."""
    return text.replace(NUL, "")
