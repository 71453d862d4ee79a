"""The queue as a back office works it: search (code, username, account number, free text), filters by
maker and type, sorts by age, type and amount, each paged; and a dense view kept in the URL."""

import re
import uuid

import pytest

from tests.backoffice_rows import insert, row
from tests.factories import account_payload, user_payload
from tests.http.conftest import HX

pytestmark = pytest.mark.anyio


def shown_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="action-row-([0-9a-f-]{36})"', html)


async def signed_in_checker(login, person):
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    return checker


async def test_search_finds_by_code_username_account_number_and_text(client, db, login, person):
    ana, bob = await person("maker", username="ana-search"), await person("maker", username="bob-search")
    await signed_in_checker(login, person)
    holder = await client.post(
        "/api/workflow/actions",
        json={"actionType": "create_user", "payload": user_payload(username="carla-in-payload")},
        headers=ana.headers,
    )
    assert holder.status_code == 201, holder.text
    account = await client.post(
        "/api/workflow/actions",
        json={
            "actionType": "create_account",
            "payload": account_payload(str(bob.user.id), accountNumber="GB29NWBK60161331926819"),
        },
        headers=ana.headers,
    )
    assert account.status_code == 201, account.text
    record = uuid.uuid4()
    coded, by_bob, winter, on_record = await insert(
        db,
        [
            row(
                ana.user.id,
                minute=1,
                summary="Something plain",
                action_id=uuid.UUID("abcdef12-0000-4000-8000-000000000001"),
            ),
            row(bob.user.id, minute=2, summary="Another plain one"),
            row(ana.user.id, minute=3, summary="Promotion WINTER-SALE (Winter sale): 10%"),
            row(ana.user.id, minute=4, summary="Changes a record", record_ids=[record]),
        ],
    )

    async def found(q: str) -> set[str]:
        page = await client.get("/queue", params={"q": q}, headers=HX)
        assert page.status_code == 200
        return set(shown_ids(page.text))

    assert await found("abcdef12") == {coded}  # the start of its code (id)
    assert await found("ABCDEF12-0000") == {coded}  # dashes and case as the id is written
    assert await found("bob-search") == {by_bob, account.json()["data"]["id"]}  # maker; and the holder named
    assert await found("carla-in-payload") == {holder.json()["data"]["id"]}  # a payload's username
    assert await found("GB29NWBK60161331926819") == {account.json()["data"]["id"]}  # an account number
    assert await found("winter sale") == {winter}  # free text, any case
    assert await found("100%") == set()  # LIKE's wildcards are plain characters
    assert await found("zzz-nothing") == set()
    # an account's number finds the actions that change it (record_ids), whatever their summary says
    async with db.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text(
                "INSERT INTO accounts (id, user_id, account_number, account_type, balance, currency, "
                "status, version, created_at, updated_at) VALUES (:id, :user, 'DE89370400440532013000', "
                "'checking', 0, 'EUR', 'active', 1, now(), now())"
            ),
            {"id": record, "user": bob.user.id},
        )
    assert await found("DE89370400440532013000") == {on_record}


async def test_the_search_box_keeps_its_text_and_the_count_says_matching(client, db, login, person):
    ana = await person("maker")
    await signed_in_checker(login, person)
    await insert(db, [row(ana.user.id, minute=i, summary=f"Promotion SPRING-{i}") for i in range(3)])

    page = await client.get("/queue", params={"q": "spring-1"})

    assert 'name="q" value="spring-1"' in page.text
    assert re.search(r'id="queue-status"[^>]*>\s*1 pending matching', page.text)


async def test_filters_by_maker_and_type(client, db, login, person):
    ana, bob = await person("maker"), await person("maker")
    await signed_in_checker(login, person)
    a_promo, a_user, b_promo = await insert(
        db,
        [
            row(ana.user.id, minute=1),
            row(ana.user.id, minute=2, action_type="create_user"),
            row(bob.user.id, minute=3),
        ],
    )

    by_ana = await client.get("/queue", params={"makerId": str(ana.user.id)}, headers=HX)
    ana_promos = await client.get(
        "/queue", params={"makerId": str(ana.user.id), "actionType": "create_promotion"}, headers=HX
    )
    full = await client.get("/queue", params={"makerId": str(bob.user.id)})

    assert shown_ids(by_ana.text) == [a_promo, a_user]
    assert shown_ids(ana_promos.text) == [a_promo]
    assert shown_ids(full.text) == [b_promo]
    assert f'<option value="{bob.user.id}" selected>' in full.text  # the maker filter shows its choice


def _expected(rows, sort):
    if sort == "oldest":
        ordered = sorted(rows, key=lambda r: (r["created_at"], str(r["id"])))
    elif sort == "newest":
        ordered = sorted(rows, key=lambda r: (r["created_at"], str(r["id"])), reverse=True)
    elif sort == "type":
        ordered = sorted(rows, key=lambda r: (r["action_type"], r["created_at"], str(r["id"])))
    else:
        ordered = sorted(rows, key=lambda r: (-(r["amount"] or 0), r["created_at"], str(r["id"])))
    return [str(r["id"]) for r in ordered]


def _mixed_rows(maker_id, count):
    types = ["create_promotion", "transfer_funds", "create_user"]
    amounts = [None, "250.00", "9999.99", "250.00", "0.01", None, "10000.00"]
    # some rows share a moment, so that the id breaks ties as the keyset does
    return [
        row(
            maker_id,
            minute=i // 2,
            action_type=types[i % 3],
            amount=amounts[i % 7] if types[i % 3] == "transfer_funds" else None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("sort", ["oldest", "newest", "type", "amount"])
async def test_each_sort_pages_in_its_order(client, db, login, person, sort):
    ana = await person("maker")
    await signed_in_checker(login, person)
    rows = _mixed_rows(ana.user.id, 113)
    await insert(db, rows)

    pages = [await client.get("/queue", params={"sort": sort, "page": n}, headers=HX) for n in (1, 2, 3)]

    assert [len(shown_ids(page.text)) for page in pages] == [50, 50, 13]
    assert [i for page in pages for i in shown_ids(page.text)] == _expected(rows, sort)
    if sort != "oldest":  # the pager and the live refresh keep the order
        assert f"sort={sort}" in pages[0].text
        assert f'<option value="{sort}" selected>' in (await client.get("/queue", params={"sort": sort})).text


async def test_amount_sort_puts_the_largest_first_and_no_amount_last(client, db, login, person):
    ana = await person("maker")
    await signed_in_checker(login, person)
    small, none, large, tie_old, tie_new = await insert(
        db,
        [
            row(ana.user.id, minute=1, action_type="transfer_funds", amount="5.00"),
            row(ana.user.id, minute=2),
            row(ana.user.id, minute=3, action_type="transfer_funds", amount="12000.00"),
            row(ana.user.id, minute=4, action_type="transfer_funds", amount="700.00"),
            row(ana.user.id, minute=5, action_type="transfer_funds", amount="700.00"),
        ],
    )

    page = await client.get("/queue", params={"sort": "amount"}, headers=HX)

    assert shown_ids(page.text) == [large, tie_old, tie_new, small, none]


async def test_odd_values_fall_back_to_the_defaults(client, db, login, person):
    ana = await person("maker")
    await signed_in_checker(login, person)
    first, second = await insert(db, [row(ana.user.id, minute=1), row(ana.user.id, minute=2)])

    page = await client.get(
        "/queue", params={"sort": "sideways", "makerId": "nope", "q": "\x00", "actionType": "x"}, headers=HX
    )

    assert page.status_code == 200
    assert shown_ids(page.text) == [first, second]


async def test_the_dense_view_is_kept_in_the_url(client, db, login, person):
    ana = await person("maker")
    await signed_in_checker(login, person)
    await insert(db, [row(ana.user.id, minute=i) for i in range(51)])

    dense = await client.get("/queue", params={"dense": "1"})
    plain = await client.get("/queue")

    assert 'class="table-scroll dense"' in dense.text
    assert 'id="queue-dense" name="dense" value="1" checked' in dense.text
    assert "dense=1" in dense.text  # the pager keeps it
    assert 'class="table-scroll dense"' not in plain.text


async def test_the_page_lists_its_keyboard_shortcuts(client, login, person):
    await signed_in_checker(login, person)

    page = await client.get("/queue")

    assert "Keyboard shortcuts" in page.text
    for key, what in [("j", "Next"), ("k", "Previous"), ("o", "Open"), ("a", "Approve"), ("r", "Reject")]:
        assert re.search(rf"<kbd>{key}</kbd>.*?<dd>{what}", page.text, re.S), key
