"""Argon2id password hashing, run off the event loop (a hash costs tens of milliseconds)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile by default

# a real hash to verify against when the user does not exist, so timing does not reveal it
_DUMMY_HASH = _hasher.hash("no such user: constant-time filler")

MIN_PASSWORD_LENGTH = 12

ARGON2_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
"""Argon2's own few threads: a burst of logins queues here, at a bounded rate, and never takes the
threads other work runs on."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(ARGON2_THREADS, hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ARGON2_THREADS, verify_password, password_hash, password)


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 256:
        return "Use at most 256 characters"
    return None
