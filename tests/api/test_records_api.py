"""The records API (issue 10 items 5 and 8): users, accounts with their ledger, and promotions, each a
list with search and keyset pagination both ways, one record by id with the pending changes to it."""

import pytest

from tests.factories import make_actor, promotion_payload, review, submit
from tests.records_data import add_accounts, add_ledger, add_promotions, mark_pending_on

pytestmark = pytest.mark.anyio

API = "/api/records"


async def _get(client, actor, path: str, status: int = 200) -> dict:
    response = await client.get(path, headers=actor.headers)
    assert response.status_code == status, response.text
    return response.json()


async def _walk(client, actor, path: str, limit: int) -> tuple[list[dict], list[dict]]:
    """Every page forwards by nextCursor, then back from the last by previousCursor: (pages, pages back)."""
    forwards = [await _get(client, actor, f"{path}{'&' if '?' in path else '?'}limit={limit}")]
    while forwards[-1]["pagination"]["nextCursor"]:
        cursor = forwards[-1]["pagination"]["nextCursor"]
        forwards.append(
            await _get(client, actor, f"{path}{'&' if '?' in path else '?'}limit={limit}&after={cursor}")
        )
    backwards = [forwards[-1]]
    while backwards[-1]["pagination"]["previousCursor"]:
        cursor = backwards[-1]["pagination"]["previousCursor"]
        backwards.append(
            await _get(client, actor, f"{path}{'&' if '?' in path else '?'}limit={limit}&before={cursor}")
        )
    return forwards, backwards


def _numbers(page: dict) -> list[str]:
    return [account["accountNumber"] for account in page["data"]]


async def test_accounts_page_forwards_and_backwards_in_number_order(client, db, maker):
    holder = await make_actor(db, "maker", username="holder-ana")
    numbers = [f"AC{n:06d}" for n in range(23)]
    await add_accounts(db, holder.user.id, list(reversed(numbers)))

    forwards, backwards = await _walk(client, maker, f"{API}/accounts", limit=5)

    assert [len(page["data"]) for page in forwards] == [5, 5, 5, 5, 3]
    assert [number for page in forwards for number in _numbers(page)] == numbers
    assert forwards[0]["pagination"]["previousCursor"] is None
    assert [_numbers(page) for page in reversed(backwards)] == [_numbers(page) for page in forwards]
    first = forwards[0]["data"][0]
    assert first == first | {
        "accountNumber": "AC000000",
        "accountType": "checking",
        "currency": "EUR",
        "balance": "100.00",
        "status": "active",
        "version": 1,
        "holder": {"id": holder.id, "username": "holder-ana", "fullName": "Holder-Ana"},
        "pendingChanges": [],
    }
    assert "total" not in forwards[0]["pagination"]


async def test_accounts_search_by_number_prefix_holder_username_and_name(client, db, maker):
    ana = await make_actor(db, "maker", username="ana-lopez")
    bob = await make_actor(db, "maker", username="bob-stone")
    await add_accounts(db, ana.user.id, ["AC100001", "AC100002", "ZZ100003"])
    await add_accounts(db, bob.user.id, ["AC200001", "BO200002"])

    async def search(q: str) -> list[str]:
        return _numbers(await _get(client, maker, f"{API}/accounts?q={q}"))

    assert await search("ac1") == ["AC100001", "AC100002"]  # number prefix, any case
    assert await search("AC") == ["AC100001", "AC100002", "AC200001"]
    assert await search("ana") == ["AC100001", "AC100002", "ZZ100003"]  # holder's username prefix
    assert await search("Stone") == ["AC200001", "BO200002"]  # holder's name contains it
    assert await search("bo") == ["AC200001", "BO200002"]  # username prefix and number prefix, once each
    assert await search("nobody") == []
    assert await search("%") == []  # a wildcard is a character like any other


async def test_a_search_pages_both_ways_too(client, db, maker):
    holder = await make_actor(db, "maker", username="paging-holder")
    await add_accounts(db, holder.user.id, [f"PG{n:04d}" for n in range(12)] + ["QQ0001"])
    forwards, backwards = await _walk(client, maker, f"{API}/accounts?q=pg", limit=5)
    assert [len(page["data"]) for page in forwards] == [5, 5, 2]
    assert [number for page in forwards for number in _numbers(page)] == [f"PG{n:04d}" for n in range(12)]
    assert [_numbers(page) for page in reversed(backwards)] == [_numbers(page) for page in forwards]


async def test_account_by_id_and_its_ledger_newest_first(client, db, maker):
    holder = await make_actor(db, "maker")
    ids = await add_accounts(db, holder.user.id, ["LD000001", "LD000002"], balance="55.00")
    account, other = ids["LD000001"], ids["LD000002"]
    await add_ledger(db, account, [f"{n}.00" for n in range(1, 13)], counterparty=other)

    body = await _get(client, maker, f"{API}/accounts/{account}")
    assert body["data"] | {"id": account, "balance": "55.00", "accountNumber": "LD000001"} == body["data"]
    assert body["data"]["pendingChanges"] == []

    forwards, backwards = await _walk(client, maker, f"{API}/accounts/{account}/ledger", limit=5)
    amounts = [entry["amount"] for page in forwards for entry in page["data"]]
    assert amounts == [f"{n}.00" for n in range(12, 0, -1)]
    newest = forwards[0]["data"][0]
    assert newest == newest | {
        "balanceAfter": "178.00",
        "currency": "EUR",
        "reference": "entry 12",
        "counterparty": {"id": other, "accountNumber": "LD000002"},
    }
    assert [entry["amount"] for entry in backwards[-1]["data"]] == amounts[:5]
    assert (await _get(client, maker, f"{API}/accounts/{other}/ledger"))["data"] == []


@pytest.mark.parametrize("kind", ["accounts", "users", "promotions"])
async def test_unknown_ids_are_404_and_malformed_ones_400(client, maker, kind):
    missing = await _get(client, maker, f"{API}/{kind}/0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", status=404)
    assert missing["success"] is False
    malformed = await _get(client, maker, f"{API}/{kind}/not-an-id", status=400)
    assert malformed["details"] == [{"field": "id", "message": "Expected a UUID"}]


async def test_the_ledger_of_an_unknown_account_is_404(client, maker):
    await _get(client, maker, f"{API}/accounts/0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c/ledger", status=404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=many", "limit"),
        ("after=not-a-cursor", "after"),
        ("before=%25%25", "before"),
        ("q=" + "x" * 101, "q"),
    ],
)
@pytest.mark.parametrize("kind", ["accounts", "users", "promotions"])
async def test_bad_query_parameters_are_400_naming_the_field(client, maker, kind, query, field):
    body = await _get(client, maker, f"{API}/{kind}?{query}", status=400)
    assert field in {detail["field"] for detail in body["details"]}, body


async def test_a_cursor_of_another_list_or_both_directions_is_400(client, db, maker):
    holder = await make_actor(db, "maker")
    await add_accounts(db, holder.user.id, [f"CU{n:04d}" for n in range(4)])
    cursor = (await _get(client, maker, f"{API}/accounts?limit=2"))["pagination"]["nextCursor"]
    assert (await _get(client, maker, f"{API}/users?after={cursor}", status=400))["details"][0][
        "field"
    ] == "after"
    both = await _get(client, maker, f"{API}/accounts?after={cursor}&before={cursor}", status=400)
    assert both["details"][0]["field"] == "before"


async def test_users_list_search_and_one_user(client, db, maker):
    await make_actor(db, "checker", username="zed-checker")
    named = await make_actor(db, "maker", username="quentin")
    body = await _get(client, maker, f"{API}/users?q=QUEN")
    assert [user["username"] for user in body["data"]] == ["quentin"]
    by_name = await _get(client, maker, f"{API}/users?q=uenti")  # "Quentin" contains it
    assert [user["username"] for user in by_name["data"]] == ["quentin"]
    everyone = await _get(client, maker, f"{API}/users")
    names = [user["username"] for user in everyone["data"]]
    assert names == sorted(names) and {"zed-checker", "quentin", maker.user.username} <= set(names)
    one = (await _get(client, maker, f"{API}/users/{named.id}"))["data"]
    assert one == one | {
        "id": named.id,
        "username": "quentin",
        "fullName": "Quentin",
        "roles": ["maker"],
        "status": "awaiting activation",
        "version": 1,
        "pendingChanges": [],
    }
    assert "passwordHash" not in one and "password_hash" not in str(one)


async def test_promotions_list_search_and_one_promotion(client, db, maker):
    ids = await add_promotions(
        db, [("SPRING_10", "Spring sale"), ("SPRINGX10", "Other"), ("WINTER-5", "Cold days")]
    )
    assert [p["code"] for p in (await _get(client, maker, f"{API}/promotions?q=spring_"))["data"]] == [
        "SPRING_10"
    ]
    assert [p["code"] for p in (await _get(client, maker, f"{API}/promotions?q=cold"))["data"]] == [
        "WINTER-5"
    ]
    listed = (await _get(client, maker, f"{API}/promotions"))["data"]
    assert [p["code"] for p in listed] == ["SPRINGX10", "SPRING_10", "WINTER-5"]  # byte order: X < _
    one = (await _get(client, maker, f"{API}/promotions/{ids['WINTER-5']}"))["data"]
    assert one == one | {
        "code": "WINTER-5",
        "name": "Cold days",
        "discountType": "percentage",
        "discountValue": "10.00",
        "active": True,
        "version": 1,
        "pendingChanges": [],
    }


async def test_a_pending_update_user_shows_on_the_user_until_approved(client, db, checker):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    change = await submit(client, admin, "update_user", {"userId": target.id, "fullName": "Renamed Person"})

    one = (await _get(client, checker, f"{API}/users/{target.id}"))["data"]
    assert one["pendingChanges"] == [
        {
            "id": change["id"],
            "actionType": "update_user",
            "summary": change["summary"],
            "url": f"/api/workflow/actions/{change['id']}",
        }
    ]
    listed = (await _get(client, checker, f"{API}/users?q={target.user.username}"))["data"]
    assert [user["pendingChanges"] for user in listed] == [one["pendingChanges"]]
    assert (await _get(client, checker, f"{API}/users/{admin.id}"))["data"]["pendingChanges"] == []

    assert (await review(client, checker, change["id"])).status_code == 200
    after = (await _get(client, checker, f"{API}/users/{target.id}"))["data"]
    assert after["pendingChanges"] == []
    assert after["fullName"] == "Renamed Person" and after["version"] == 2


async def test_a_pending_resend_activation_shows_on_the_user(client, db, checker):
    admin = await make_actor(db, "admin")
    waiting = await make_actor(db, "maker")
    resend = await submit(client, admin, "resend_activation", {"userId": waiting.id})
    one = (await _get(client, checker, f"{API}/users/{waiting.id}"))["data"]
    assert [change["id"] for change in one["pendingChanges"]] == [resend["id"]]


async def test_pending_changes_to_accounts_and_promotions_show_on_them(client, db, maker, checker):
    holder = await make_actor(db, "maker")
    account = (await add_accounts(db, holder.user.id, ["PD000001"]))["PD000001"]
    promotion = (await add_promotions(db, [("PD-PROMO", "Pending promo")]))["PD-PROMO"]
    on_account = await submit(client, maker, "create_promotion", promotion_payload())
    on_promotion = await submit(client, maker, "create_promotion", promotion_payload())
    await mark_pending_on(db, on_account["id"], account)
    await mark_pending_on(db, on_promotion["id"], promotion)

    account_json = (await _get(client, checker, f"{API}/accounts/{account}"))["data"]
    assert [change["id"] for change in account_json["pendingChanges"]] == [on_account["id"]]
    listed = (await _get(client, checker, f"{API}/accounts?q=PD0"))["data"]
    assert [change["id"] for change in listed[0]["pendingChanges"]] == [on_account["id"]]
    promotion_json = (await _get(client, checker, f"{API}/promotions/{promotion}"))["data"]
    assert [change["id"] for change in promotion_json["pendingChanges"]] == [on_promotion["id"]]

    assert (await review(client, checker, on_account["id"], "rejected", "no")).status_code == 200
    assert (await _get(client, checker, f"{API}/accounts/{account}"))["data"]["pendingChanges"] == []


async def test_records_need_a_signed_in_user(client):
    for path in ("accounts", "users", "promotions"):
        assert (await client.get(f"{API}/{path}")).status_code == 401


async def test_a_resubmitted_change_marks_the_user_it_now_changes(client, db, checker):
    admin = await make_actor(db, "admin")
    first, second = await make_actor(db, "maker"), await make_actor(db, "maker")
    change = await submit(client, admin, "update_user", {"userId": first.id, "fullName": "First Renamed"})
    sent_back = await review(client, checker, change["id"], "changes_requested", "the other one")
    assert sent_back.status_code == 200, sent_back.text
    assert (await _get(client, checker, f"{API}/users/{first.id}"))["data"]["pendingChanges"] == []

    resubmitted = await client.post(
        f"/api/workflow/actions/{change['id']}/resubmit",
        json={"payload": {"userId": second.id, "fullName": "Second Renamed"}},
        headers=admin.headers,
    )
    assert resubmitted.status_code == 200, resubmitted.text

    assert (await _get(client, checker, f"{API}/users/{first.id}"))["data"]["pendingChanges"] == []
    marked = (await _get(client, checker, f"{API}/users/{second.id}"))["data"]["pendingChanges"]
    assert [pending["id"] for pending in marked] == [change["id"]]
