"""Test helpers for the audit chain: seal now, verify, and tamper as a superuser would."""

from typing import Any

import asyncpg

from app.audit import ChainReport, seal_pending, verify_chain
from app.db import Database

TRIGGERS = {"audit_events": "audit_events_append_only", "audit_seals": "audit_seals_append_only"}


async def seal_all(db: Database, batch: int = 1000) -> int:
    conn = await asyncpg.connect(db.url)
    try:
        return await seal_pending(conn, batch)
    finally:
        await conn.close()


async def chain_report(db: Database, **options: Any) -> ChainReport:
    async with db.sessions() as session:
        return await verify_chain(session, **options)


async def tamper(db: Database, table: str, statement: str, *args: Any) -> None:
    """Run `statement` with the table's append-only trigger switched off, as an attacker with DB rights."""
    conn = await asyncpg.connect(db.url)
    try:
        async with conn.transaction():
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {TRIGGERS[table]}")
            await conn.execute(statement, *args)
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {TRIGGERS[table]}")
    finally:
        await conn.close()
