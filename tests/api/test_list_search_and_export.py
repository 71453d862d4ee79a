"""The API's list searches and sorts as the queue does, its cursor follows each order, and the
actions export as CSV with the same filters, streamed in keyset batches, safe to open in a spreadsheet."""

import csv
import io
import uuid

import pytest

from app.workflow import export
from tests.backoffice_rows import insert, row

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"


def _expected(rows, sort):
    def age(r):
        return (r["created_at"], str(r["id"]))

    if sort == "type":
        ordered = sorted(rows, key=lambda r: (r["action_type"], *age(r)))
    elif sort == "amount":
        ordered = sorted(rows, key=lambda r: (-(r["amount"] or 0), *age(r)))
    else:
        ordered = sorted(rows, key=age, reverse=sort == "newest")
    return [str(r["id"]) for r in ordered]


@pytest.mark.parametrize("sort", ["newest", "oldest", "type", "amount"])
async def test_the_cursor_follows_each_sort(client, db, maker, checker, sort):
    types = ["create_promotion", "transfer_funds", "create_user"]
    amounts = ["250.00", None, "9999.99", "250.00", "0.01"]
    rows = [
        row(
            maker.user.id,
            minute=i // 3,
            action_type=types[i % 3],
            amount=amounts[i % 5] if types[i % 3] == "transfer_funds" else None,
        )
        for i in range(47)
    ]
    # decided rows stay out of the pending list
    await insert(db, [*rows, row(maker.user.id, minute=1, status="approved", amount="1.00")])

    seen, cursor = [], None
    for _ in range(10):
        params = {"status": "pending", "sort": sort, "limit": 10} | ({"cursor": cursor} if cursor else {})
        body = (await client.get(ACTIONS, params=params, headers=checker.headers)).json()
        seen += [action["id"] for action in body["data"]]
        cursor = body["pagination"]["nextCursor"]
        if cursor is None:
            break

    assert seen == _expected(rows, sort)


async def test_search_and_filters_in_the_list(client, db, maker, checker):
    coded, _, text_match = await insert(
        db,
        [
            row(maker.user.id, minute=1, action_id=uuid.UUID("0badc0de-0000-4000-8000-000000000000")),
            row(checker.user.id, minute=2),
            row(maker.user.id, minute=3, summary="Transfer for the Harbour project", status="rejected"),
        ],
    )

    async def ids(**params):
        response = await client.get(ACTIONS, params=params, headers=checker.headers)
        assert response.status_code == 200, response.text
        return [action["id"] for action in response.json()["data"]]

    assert await ids(q="0badc0de") == [coded]
    assert await ids(q="harbour project") == [text_match]
    assert await ids(q="harbour", status="pending") == []
    assert await ids(q=maker.user.username, sort="oldest") == [coded, text_match]
    body = (await client.get(ACTIONS, params={"q": "harbour"}, headers=checker.headers)).json()
    assert body["pagination"]["total"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "sideways"}, "sort"),
        ({"sort": "amount"}, "sort"),  # amount and type sorts are for the pending actions
        ({"sort": "type", "status": "approved"}, "sort"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_sorts_and_searches_are_400_naming_the_field(client, checker, params, field):
    response = await client.get(ACTIONS, params=params, headers=checker.headers)

    assert response.status_code == 400, response.text
    assert field in response.text


async def test_a_cursor_of_another_order_is_refused(client, db, maker, checker):
    await insert(db, [row(maker.user.id, minute=i) for i in range(3)])
    first = (await client.get(ACTIONS, params={"limit": 1}, headers=checker.headers)).json()

    response = await client.get(
        ACTIONS,
        params={"status": "pending", "sort": "amount", "cursor": first["pagination"]["nextCursor"]},
        headers=checker.headers,
    )

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "cursor", "message": "Use the nextCursor of a page"}]


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_api_export_honours_the_filters_and_search(client, db, maker, checker):
    wanted, _, _ = await insert(
        db,
        [
            row(maker.user.id, minute=1, summary="Harbour transfer", status="approved"),
            row(maker.user.id, minute=2, summary="Harbour transfer"),
            row(checker.user.id, minute=3, summary="Harbour transfer", status="approved"),
        ],
    )

    response = await client.get(
        f"{ACTIONS}.csv",
        params={"status": "approved", "makerId": maker.id, "q": "harbour"},
        headers=checker.headers,
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="actions.csv"'
    rows = parse(response.text)
    assert [r["id"] for r in rows] == [wanted]
    assert rows[0]["maker"] == maker.user.username and rows[0]["status"] == "approved"
    bad = await client.get(f"{ACTIONS}.csv", params={"status": "nope"}, headers=checker.headers)
    assert bad.status_code == 400 and "status" in bad.text
    assert (await client.get(f"{ACTIONS}.csv")).status_code == 401


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_cells_that_would_be_formulas_are_escaped(client, db, maker, checker, start):
    summary = f'{start}HYPERLINK("http://evil.example","x")'
    await insert(db, [row(maker.user.id, minute=1, summary=summary)])

    response = await client.get(f"{ACTIONS}.csv", headers=checker.headers)

    assert parse(response.text)[0]["summary"] == "'" + summary


async def test_the_export_streams_every_row_in_batches(client, db, maker, checker, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_BATCH", 7)
    reads = []
    original = export.views.rows_after

    async def counting(*args, **kwargs):
        found = await original(*args, **kwargs)
        reads.append(len(found))
        return found

    monkeypatch.setattr(export.views, "rows_after", counting)
    rows = [row(maker.user.id, minute=i // 2) for i in range(30)]  # moments shared in pairs
    await insert(db, rows)

    response = await client.get(f"{ACTIONS}.csv", headers=checker.headers)

    exported = [r["id"] for r in parse(response.text)]
    assert exported == _expected(rows, "newest")
    assert reads == [7, 7, 7, 7, 2]  # one keyset batch at a time, never the whole list
