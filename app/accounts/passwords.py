"""Argon2id password hashing, run off the event loop (a hash costs tens of milliseconds)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.concurrency import sync_to_thread

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile by default

# a real hash to verify against when the user does not exist, so timing does not reveal it
_DUMMY_HASH = _hasher.hash("no such user: constant-time filler")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await sync_to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await sync_to_thread(verify_password, password_hash, password)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "Use at most 256 characters"
    return None
