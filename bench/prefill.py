"""Fill workflow_actions with pending create_promotion actions by plain SQL (INSERT ... SELECT).

Plain SQL so that triggers on the table fire as for any insert and columns not named here take
their defaults. The payload (and a stored summary, when the table has that column) is built by
the app's own payload model, so the rows look like submissions. Adapt `_COLUMNS` when the table
gains a required column without a default; the bench names such a column when it stops.
"""

import json

import asyncpg

from app.actions.create_promotion import ACTION as CREATE_PROMOTION

_CODE_PLACEHOLDER = "XCODEX"
_CODE = "'PREFILL-' || n"

_COLUMNS = {
    "id": "gen_random_uuid()",
    "action_type": "'create_promotion'",
    "status": "'pending'",
    "payload": f"p.payload || jsonb_build_object('code', {_CODE})",
    "maker_id": "p.maker_id",
    "required_approvals": "1",
    "approvals": "0",
    # older than anything the bench submits, one second apart, so the queue's order is stable
    "created_at": "TIMESTAMPTZ '2026-01-01 00:00:00+00' + n * INTERVAL '1 second'",
    "updated_at": "TIMESTAMPTZ '2026-01-01 00:00:00+00' + n * INTERVAL '1 second'",
    "summary": f"replace(p.summary, '{_CODE_PLACEHOLDER}', {_CODE})",
    # the key a submission stores (ActionType.pending_keys), so the pending-key index holds them too
    "unique_key_1": f"'promotion code:' || {_CODE}",
}


async def _template() -> tuple[str, str]:
    """A stored payload (code to be replaced) and its summary, as a submission would store them."""
    payload = CREATE_PROMOTION.parse(
        {
            "code": _CODE_PLACEHOLDER,
            "name": "Prefilled promotion",
            "description": "Ten percent off",
            "discountType": "percentage",
            "discountValue": "10",
            "startDate": "2027-03-01",
            "endDate": "2027-03-31",
        }
    )
    # a promotion's summary reads no current data: it needs no session
    summary = await CREATE_PROMOTION.summarize(None, payload)  # type: ignore[arg-type]
    return json.dumps(payload.to_json()), summary


async def _insert_statement(conn: asyncpg.Connection) -> str:
    rows = await conn.fetch(
        "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL AS required "
        "FROM information_schema.columns WHERE table_name = 'workflow_actions'"
    )
    present = {row["column_name"] for row in rows}
    missing = {row["column_name"] for row in rows if row["required"]} - set(_COLUMNS)
    if missing:
        raise RuntimeError(f"workflow_actions has required columns the pre-fill does not set: {missing}")
    columns = [name for name in _COLUMNS if name in present]
    values = ", ".join(_COLUMNS[name] for name in columns)
    return (
        "WITH p AS (SELECT $3::jsonb AS payload, $4::uuid AS maker_id, $5::text AS summary) "
        f"INSERT INTO workflow_actions ({', '.join(columns)}) "
        f"SELECT {values} FROM p, generate_series($1::int, $2::int) AS n"
    )


async def fill_pending(url: str, target: int, maker_id: str) -> int:
    """Add pending actions until `target` are pending; return how many were added."""
    conn = await asyncpg.connect(url)
    try:
        pending = await conn.fetchval("SELECT count(*) FROM workflow_actions WHERE status = 'pending'")
        missing = target - pending
        if missing <= 0:
            return 0
        first = await conn.fetchval(
            "SELECT count(*) FROM workflow_actions WHERE payload->>'code' LIKE 'PREFILL-%'"
        )
        payload, summary = await _template()
        statement = await _insert_statement(conn)
        await conn.execute(statement, first + 1, first + missing, payload, maker_id, summary)
        await conn.execute("VACUUM ANALYZE workflow_actions")
        return missing
    finally:
        await conn.close()
