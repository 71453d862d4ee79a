"""The records pages through a browser session (issue 10 items 5 and 8): lists with search and pages
both ways, an account's balance and ledger, the pending changes to a record, and the links that start
a request about it, offered only for types that exist and that the viewer may propose."""

import dataclasses
import re

import pytest

from app.actions import REGISTRY, get_action_type
from app.models import Role
from tests.factories import make_actor, review, submit
from tests.http.conftest import HX
from tests.records_data import add_accounts, add_ledger, add_promotions, run

pytestmark = pytest.mark.anyio

STARTED_FROM_RECORDS = ("transfer_funds", "update_account_status", "close_account", "update_promotion")


@pytest.fixture
def types_of_other_helpers(monkeypatch):
    """The types records pages link to, registered as stand-ins where they do not exist yet (another
    part of the work adds them): proposed by makers, like the real ones."""
    template = get_action_type("update_user")
    for name in STARTED_FROM_RECORDS:
        if name not in REGISTRY:
            stand_in = dataclasses.replace(template, name=name, label=name, maker_role=Role.MAKER)
            monkeypatch.setitem(REGISTRY, name, stand_in)


async def _signed_in(login, person, *roles: str):
    actor = await person(*roles)
    assert (await login(actor.user.username)).status_code == 303
    return actor


def _row(html: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}".*?</tr>', html, re.DOTALL)
    return found.group(0) if found else ""


def _numbers(html: str) -> list[str]:
    return re.findall(r'<tr id="account-row-[^"]+">\s*<td><a href="[^"]+"><strong>([^<]+)</strong>', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("roles", [("maker",), ("checker",), ("admin",)])
async def test_every_role_reads_the_records_from_the_nav(client, db, login, person, roles):
    await _signed_in(login, person, *roles)
    page = await client.get("/records/accounts")
    assert page.status_code == 200
    assert '<a href="/records/accounts" aria-current="page">Records</a>' in page.text
    for path in ("/records/users", "/records/promotions"):
        assert (await client.get(path)).status_code == 200
    assert 'href="/records/accounts">Records</a>' in (await client.get("/history")).text


async def test_records_pages_send_the_anonymous_to_login(client):
    response = await client.get("/records/accounts?q=AC", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_accounts_search_and_pages_both_ways(client, db, login, person):
    await _signed_in(login, person, "maker")
    holder = await make_actor(db, "maker", username="page-holder")
    numbers = [f"PA{n:06d}" for n in range(60)]
    await add_accounts(db, holder.user.id, numbers)

    first = (await client.get("/records/accounts?q=pa")).text
    assert _numbers(first) == numbers[:25]
    assert _link(first, "prev") is None
    second = (await client.get(_link(first, "next"))).text
    third = (await client.get(_link(second, "next"))).text
    assert _numbers(second) == numbers[25:50] and _numbers(third) == numbers[50:]
    assert _link(third, "next") is None
    back = (await client.get(_link(third, "prev"))).text
    assert _numbers(back) == numbers[25:50]
    assert _numbers((await client.get(_link(back, "prev"))).text) == numbers[:25]

    by_holder = (await client.get("/records/accounts?q=page-hol")).text
    assert len(_numbers(by_holder)) == 25
    assert "No account matches" in (await client.get("/records/accounts?q=nothing-like-it")).text


async def test_a_search_as_you_type_answers_with_the_list_only(client, db, login, person):
    await _signed_in(login, person, "checker")
    holder = await make_actor(db, "maker")
    await add_accounts(db, holder.user.id, ["FR000001", "FR000002"])
    fragment = await client.get("/records/accounts?q=fr0", headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="records-list">')
    assert "<html" not in fragment.text
    assert _numbers(fragment.text) == ["FR000001", "FR000002"]


async def test_an_account_page_shows_balance_and_ledger_newest_first(client, db, login, person):
    await _signed_in(login, person, "maker")
    holder = await make_actor(db, "maker", username="ledger-holder")
    ids = await add_accounts(db, holder.user.id, ["LG000001", "LG000002"], balance="1234.50")
    await add_ledger(db, ids["LG000001"], [f"{n}.00" for n in range(1, 26)], counterparty=ids["LG000002"])

    page = await client.get(f"/records/accounts/{ids['LG000001']}")
    assert page.status_code == 200
    assert re.search(r'id="balance">\s*1,234.50 EUR', page.text)
    assert 'href="/records/users/' in page.text and "ledger-holder" in page.text
    entries = re.findall(r'<tr id="ledger-entry-(\d+)"', page.text)
    assert len(entries) == 20 and entries == sorted(entries, key=int, reverse=True)
    assert f'href="/records/accounts/{ids["LG000002"]}">LG000002</a>' in page.text
    older = await client.get(_link(page.text, "next"))
    assert len(re.findall(r'<tr id="ledger-entry-(\d+)"', older.text)) == 5
    newer = await client.get(_link(older.text, "prev"))
    assert re.findall(r'<tr id="ledger-entry-(\d+)"', newer.text) == entries
    empty = await client.get(f"/records/accounts/{ids['LG000002']}")
    assert 'id="no-ledger"' in empty.text


@pytest.mark.parametrize("kind", ["accounts", "users", "promotions"])
async def test_unknown_records_are_404_and_bad_cursors_400(client, login, person, kind):
    await _signed_in(login, person, "maker")
    for record_id in ("0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "not-an-id"):
        missing = await client.get(f"/records/{kind}/{record_id}")
        assert missing.status_code == 404
        assert "No " in missing.text
    bad = await client.get(f"/records/{kind}?after=garbage")
    assert bad.status_code == 400
    assert "The cursor is not valid" in bad.text
    assert (await client.get(f"/records/{kind}?q=" + "x" * 101)).status_code == 400


async def test_account_links_start_requests_only_for_types_that_exist(client, db, login, person):
    await _signed_in(login, person, "maker")
    holder = await make_actor(db, "maker")
    ids = await add_accounts(db, holder.user.id, ["LK000001"])
    page = (await client.get(f"/records/accounts/{ids['LK000001']}")).text
    for name in STARTED_FROM_RECORDS:
        if get_action_type(name) is None:
            assert f"actionType={name}" not in page


async def test_a_maker_starts_a_transfer_a_status_change_or_a_close_from_an_account(
    client, db, login, person, types_of_other_helpers
):
    await _signed_in(login, person, "maker")
    holder = await make_actor(db, "maker")
    active = (await add_accounts(db, holder.user.id, ["ST000001"]))["ST000001"]
    frozen = (await add_accounts(db, holder.user.id, ["ST000002"], status="frozen"))["ST000002"]
    closed = (await add_accounts(db, holder.user.id, ["ST000003"], status="closed"))["ST000003"]

    page = (await client.get(f"/records/accounts/{active}")).text
    assert (
        f'href="/actions/new?actionType=transfer_funds&amp;record={active}">Transfer from this account</a>'
        in page
    )
    assert f'href="/actions/new?actionType=update_account_status&amp;record={active}">Freeze</a>' in page
    assert f'href="/actions/new?actionType=close_account&amp;record={active}">Close</a>' in page
    frozen_page = (await client.get(f"/records/accounts/{frozen}")).text
    assert ">Unfreeze</a>" in frozen_page and "transfer_funds" not in frozen_page
    assert 'id="record-actions"' not in (await client.get(f"/records/accounts/{closed}")).text


async def test_a_checker_is_offered_no_request_to_start(client, db, login, person, types_of_other_helpers):
    await _signed_in(login, person, "checker")
    holder = await make_actor(db, "maker")
    account = (await add_accounts(db, holder.user.id, ["CK000001"]))["CK000001"]
    promotion = (await add_promotions(db, [("CK-PROMO", "Checker promo")]))["CK-PROMO"]
    for path in (f"/records/accounts/{account}", f"/records/promotions/{promotion}"):
        page = (await client.get(path)).text
        assert "/actions/new" not in page and 'id="record-actions"' not in page


async def test_a_promotion_page_and_its_edit_link(client, db, login, person, types_of_other_helpers):
    await _signed_in(login, person, "maker")
    ids = await add_promotions(db, [("SUMMER-20", "Summer sale"), ("WINTER-10", "Winter sale")])
    listed = (await client.get("/records/promotions?q=summ")).text
    assert _row(listed, f"promotion-row-{ids['SUMMER-20']}") and "WINTER-10" not in listed
    page = (await client.get(f"/records/promotions/{ids['SUMMER-20']}")).text
    assert "Summer sale" in page and 'id="record-version">1<' in page
    assert f'href="/actions/new?actionType=update_promotion&amp;record={ids["SUMMER-20"]}">Edit</a>' in page


async def test_a_user_page_shows_a_pending_change_until_it_is_approved(client, db, login, person):
    admin = await _signed_in(login, person, "admin")
    checker = await make_actor(db, "checker")
    target = await make_actor(db, "maker", username="to-be-renamed")
    await add_accounts(db, target.user.id, ["US000001"])

    page = (await client.get(f"/records/users/{target.id}")).text
    assert f'href="/admin/users/{target.id}/change"' in page  # admins reach the change page
    assert "US000001" in page
    assert 'class="pending-note"' not in page

    change = await submit(client, admin, "update_user", {"userId": target.id, "fullName": "Renamed"})
    page = (await client.get(f"/records/users/{target.id}")).text
    assert 'class="pending-note"' in page
    assert f'href="/actions/{change["id"]}">Update user</a>' in page
    listed = (await client.get("/records/users?q=to-be")).text
    assert f'href="/actions/{change["id"]}" class="badge status-pending">1 pending</a>' in listed

    assert (await review(client, checker, change["id"])).status_code == 200
    page = (await client.get(f"/records/users/{target.id}")).text
    assert 'class="pending-note"' not in page and "Renamed" in page


async def test_a_maker_sees_users_read_only(client, db, login, person):
    await _signed_in(login, person, "maker")
    target = await make_actor(db, "checker")
    page = (await client.get(f"/records/users/{target.id}")).text
    assert target.user.username in page
    assert "/admin/users" not in page


async def test_an_account_list_row_marks_its_pending_change(client, db, login, person):
    maker = await _signed_in(login, person, "maker")
    holder = await make_actor(db, "maker")
    account = (await add_accounts(db, holder.user.id, ["MK000001"]))["MK000001"]
    action = await submit(client, maker, "create_promotion", {"code": "MARKED", **_promotion()})
    await run(db, "UPDATE workflow_actions SET record_ids = ARRAY[CAST(:a AS uuid)]", a=account)
    row = _row((await client.get("/records/accounts?q=MK")).text, f"account-row-{account}")
    assert f'href="/actions/{action["id"]}" class="badge status-pending">1 pending</a>' in row
    page = (await client.get(f"/records/accounts/{account}")).text
    assert 'class="pending-note"' in page and f'href="/actions/{action["id"]}"' in page


def _promotion() -> dict:
    return {
        "name": "Marked",
        "discountType": "percentage",
        "discountValue": "5",
        "startDate": "2027-01-01",
        "endDate": "2027-02-01",
    }
