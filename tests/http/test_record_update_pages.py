"""Updates to existing records on the pages (issue 10 items 2 to 4): the request form filled with the
record's current values (by id or by what people call it), only the changed fields submitted, the diff
in the queue row and on the detail page, and three columns there once the record changed since."""

import re

import pytest

from tests.factories import Actor, review, submit
from tests.http.conftest import HX, csrf_from_page, row_html
from tests.records import make_account, make_promotion, row

pytestmark = pytest.mark.anyio


async def _login_as(login, actor: Actor) -> None:
    assert (await login(actor.user.username)).status_code == 303


def _value(html: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


def _selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.DOTALL)
    chosen = re.search(r'<option value="([^"]*)" selected', select.group(0)) if select else None
    return chosen.group(1) if chosen else None


async def test_the_form_comes_filled_with_the_record_by_id_or_by_its_code(client, db, login, person):
    maker = await person("maker")
    promotion = await make_promotion(db, code="FILL-ME")
    await _login_as(login, maker)
    for record in (str(promotion.id), "fill-me"):
        page = await client.get("/actions/new", params={"actionType": "update_promotion", "record": record})
        assert page.status_code == 200
        html = page.text
        assert _value(html, "promotionId") == str(promotion.id)
        assert _value(html, "record") == "FILL-ME"
        assert _value(html, "name") == "Spring sale"
        assert _value(html, "discountValue") == "10.00"
        assert (_value(html, "startDate"), _value(html, "endDate")) == ("2027-03-01", "2027-03-31")
        assert _selected(html, "discountType") == "percentage"
        assert _selected(html, "active") == "true"
        assert "Ten percent off</textarea>" in html

    # the picker's htmx GET answers with the form alone
    fragment = await client.get(
        "/actions/new", params={"actionType": "update_promotion", "record": "FILL-ME"}, headers=HX
    )
    assert fragment.text.lstrip().startswith('<article id="request-form">')
    unknown = await client.get("/actions/new", params={"actionType": "update_promotion", "record": "NOPE"})
    assert 'id="error-record"' in unknown.text
    assert "No promotion has this promotion code" in unknown.text
    assert _value(unknown.text, "record") == "NOPE"
    nul = await client.get("/actions/new", params={"actionType": "close_account", "record": "\x00"})
    assert nul.status_code == 200
    for odd in ("A\x00B", "x" * 5000, "%"):
        answer = await client.get("/actions/new", params={"actionType": "close_account", "record": odd})
        assert answer.status_code == 200
        assert "No account has this account number" in answer.text


async def test_the_form_submits_only_what_changed(client, db, login, person):
    maker = await person("maker")
    promotion = await make_promotion(db)
    await _login_as(login, maker)
    page = await client.get(
        "/actions/new", params={"actionType": "update_promotion", "record": str(promotion.id)}
    )
    form = {
        "_csrf_token": csrf_from_page(page.text),
        "actionType": "update_promotion",
        "promotionId": str(promotion.id),
        "name": "Spring sale",
        "description": "Ten percent off",
        "discountType": "percentage",
        "discountValue": "10.00",
        "startDate": "2027-03-01",
        "endDate": "2027-04-30",
        "active": "true",
    }
    answer = await client.post("/actions/new", data=form)
    assert answer.status_code == 200, answer.text
    stored = await row(
        db, "SELECT payload, record_before FROM workflow_actions WHERE action_type = 'update_promotion'"
    )
    assert stored.payload == {"promotionId": str(promotion.id), "endDate": "2027-04-30T00:00:00Z"}
    assert stored.record_before == {"endDate": "2027-03-31T00:00:00Z"}


async def test_the_queue_row_and_the_detail_page_show_the_diff(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    account = await make_account(db, maker.id)
    action = await submit(
        client, maker, "update_account_status", {"accountId": str(account.id), "status": "frozen"}
    )
    await _login_as(login, checker)
    queue_row = row_html((await client.get("/queue")).text, action["id"])
    assert re.search(
        r'<li data-field="status">.*Status.*<del>active</del> → <ins>frozen</ins>', queue_row, re.DOTALL
    )

    detail = (await client.get(f"/actions/{action['id']}")).text
    table = re.search(r'<article id="record-changes".*?</article>', detail, re.DOTALL).group(0)
    assert [h for h in re.findall(r'<th scope="col">([^<]*)</th>', table)] == ["Field", "Current", "Proposed"]
    assert "stale-note" not in detail


async def test_a_stale_update_shows_three_columns(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    promotion = await make_promotion(db)
    renaming = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "name": "Renamed"}
    )
    also = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "name": "Other name"}
    )
    assert (await review(client, checker, renaming["id"])).status_code == 200

    await _login_as(login, checker)
    detail = (await client.get(f"/actions/{also['id']}")).text
    table = re.search(r'<article id="record-changes" class="stale">.*?</article>', detail, re.DOTALL).group(0)
    assert re.findall(r'<th scope="col">([^<]*)</th>', table) == ["Field", "At submission", "Now", "Proposed"]
    cells = re.search(r'<tr data-field="name">(.*?)</tr>', table, re.DOTALL).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", cells, re.DOTALL) == [
        "<del>Spring sale</del>",
        "Renamed <strong>(changed)</strong>",
        "<ins>Other name</ins>",
    ]
    assert "version 1 then, 2 now" in table
    assert "approving it is refused" in table


async def test_the_edit_page_of_a_sent_back_update_shows_the_record_now_with_its_changes(
    client, db, login, person
):
    maker, checker = await person("maker"), await person("checker")
    promotion = await make_promotion(db)
    action = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "endDate": "2027-04-30"}
    )
    assert (
        await review(client, checker, action["id"], "changes_requested", "One more week")
    ).status_code == 200
    await _login_as(login, maker)
    page = (await client.get(f"/actions/{action['id']}/edit")).text
    assert (_value(page, "name"), _value(page, "endDate")) == ("Spring sale", "2027-04-30T00:00:00Z")
    form = {
        "_csrf_token": csrf_from_page(page),
        "promotionId": str(promotion.id),
        "name": "Spring sale",
        "description": "Ten percent off",
        "discountType": "percentage",
        "discountValue": "10.00",
        "startDate": "2027-03-01",
        "endDate": "2027-05-07",
        "active": "true",
    }
    answer = await client.post(f"/actions/{action['id']}/resubmit", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    stored = await row(db, "SELECT version, payload FROM workflow_actions WHERE id = :id", id=action["id"])
    assert (stored.version, stored.payload) == (
        2,
        {"promotionId": str(promotion.id), "endDate": "2027-05-07T00:00:00Z"},
    )
