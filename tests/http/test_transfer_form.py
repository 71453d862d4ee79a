"""The transfer form: accounts named by number (a million of them fit no list), inline errors, a form
started from the paying account (?record=), and the policy form's step-up and large-amount settings."""

import re

import pytest

from tests.factories import make_account, set_policy
from tests.http.conftest import HX, csrf_headers, fetch

pytestmark = pytest.mark.anyio


@pytest.fixture
async def maker_session(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    return ana


async def _post(client, data):
    return await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)


def _field(html: str, name: str) -> str:
    found = re.search(rf'<div class="field">\s*<label for="field-{name}">.*?</div>', html, re.DOTALL)
    assert found, f"no field {name}"
    return found.group(0)


async def test_accounts_are_given_by_number_and_stored_by_id(client, db, maker_session):
    source = await make_account(db, maker_session, balance="80.00", number="FORMSRC001")
    target = await make_account(db, maker_session, number="FORMDST001")
    answer = await _post(
        client,
        {
            "actionType": "transfer_funds",
            "fromAccountId": " formsrc001 ",
            "toAccountId": str(target.id),
            "amount": "12.5",
            "currency": "EUR",
            "reference": "Lunch",
        },
    )
    assert answer.status_code == 200, answer.text
    assert "Request submitted" in answer.text
    rows = await fetch(db, "SELECT payload, summary FROM workflow_actions")
    assert rows[0][0] == {
        "fromAccountId": str(source.id),
        "toAccountId": str(target.id),
        "amount": "12.50",
        "currency": "EUR",
        "reference": "Lunch",
    }
    assert rows[0][1].startswith("Transfer 12.50 EUR from FORMSRC001")


async def test_unknown_accounts_and_short_funds_are_shown_on_their_fields(client, db, maker_session):
    await make_account(db, maker_session, balance="5.00", number="FORMSRC002")
    await make_account(db, maker_session, number="FORMDST002")
    data = {"actionType": "transfer_funds", "amount": "10", "currency": "EUR", "reference": "Books"}
    unknown = await _post(client, data | {"fromAccountId": "NOSUCH0001", "toAccountId": "FORMDST002"})
    assert unknown.status_code == 422
    field = _field(unknown.text, "fromAccountId")
    assert 'id="error-fromAccountId" class="error">No account has this number or id</small>' in field
    assert 'value="NOSUCH0001"' in field  # kept as typed
    assert "error-toAccountId" not in unknown.text
    assert 'value="FORMDST002"' in _field(unknown.text, "toAccountId")

    short = await _post(client, data | {"fromAccountId": "FORMSRC002", "toAccountId": "FORMDST002"})
    assert short.status_code == 422
    assert (
        'id="error-amount" class="error">Insufficient funds: account FORMSRC002 holds 5.00 EUR' in short.text
    )
    assert await fetch(db, "SELECT id FROM workflow_actions") == []


async def test_the_form_starts_from_the_paying_account(client, db, maker_session):
    source = await make_account(db, maker_session, currency="CHF", number="FORMSRC003")
    form = (await client.get(f"/actions/new?actionType=transfer_funds&record={source.id}")).text
    assert 'data-action-type="transfer_funds"' in form
    assert 'value="FORMSRC003"' in _field(form, "fromAccountId")
    assert 'value="CHF"' in _field(form, "currency")
    assert 'value=""' in _field(form, "toAccountId")
    # an id that names no account, or no id at all, gives the empty form
    for record in ("00000000-0000-0000-0000-000000000000", "nonsense"):
        empty = (await client.get(f"/actions/new?actionType=transfer_funds&record={record}")).text
        assert 'value=""' in _field(empty, "fromAccountId")


async def test_the_policy_form_sets_step_up_and_a_large_amount(client, db, login, person):
    admin = await person("admin")
    await person("checker"), await person("checker")
    await set_policy(db, "transfer_funds", large_amount=5000, large_amount_approvals=2, step_up=True)
    assert (await login(admin.user.username)).status_code == 303
    form = (await client.get("/actions/new?actionType=update_policy&targetType=transfer_funds")).text
    assert 'value="5000.00"' in _field(form, "largeAmount")
    assert re.search(r'<option value="2" selected>2</option>', _field(form, "largeAmountApprovals"))
    assert re.search(r'<option value="true" selected>', _field(form, "stepUp"))

    data = {
        "actionType": "update_policy",
        "targetType": "transfer_funds",
        "baseVersion": "1",
        "enabled": "true",
        "requiredApprovals": "1",
        "ttlHours": "72",
        "reviewerRole": "checker",
        "stepUp": "false",
        "largeAmount": "",
        "largeAmountApprovals": "2",
    }
    refused = await client.post("/actions/new", data=data, headers=csrf_headers(client) | HX)
    assert refused.status_code == 422
    assert "Give the large amount too" in _field(refused.text, "largeAmountApprovals")
    answer = await client.post(
        "/actions/new", data=data | {"largeAmount": "10000"}, headers=csrf_headers(client) | HX
    )
    assert answer.status_code == 200, answer.text
    rows = await fetch(db, "SELECT payload FROM workflow_actions WHERE action_type = 'update_policy'")
    assert {k: rows[0][0][k] for k in ("stepUp", "largeAmount", "largeAmountApprovals")} == {
        "stepUp": False,
        "largeAmount": "10000.00",
        "largeAmountApprovals": 2,
    }


async def test_the_form_says_what_the_policy_asks_above_the_large_amount(client, db, maker_session):
    await set_policy(db, "transfer_funds", large_amount=10000, large_amount_approvals=2, step_up=True)
    form = (await client.get("/actions/new?actionType=transfer_funds")).text
    note = re.search(r'<p class="muted" id="policy-note">.*?</p>', form, re.DOTALL).group(0)
    assert "2 approvals above 10,000.00" in note
    assert "the checker enters their password to approve" in note


async def test_a_transfer_sent_back_is_resubmitted_with_account_numbers(client, db, login, person):
    from tests.factories import review, submit, transfer_payload
    from tests.http.conftest import csrf_from_page

    maker, checker = await person("maker"), await person("checker")
    source = await make_account(db, maker, balance="90.00", number="EDITSRC001")
    wrong = await make_account(db, maker, number="EDITWRONG1")
    right = await make_account(db, maker, number="EDITRIGHT1")
    action = await submit(client, maker, "transfer_funds", transfer_payload(source, wrong))
    await review(client, checker, action["id"], "changes_requested", "Wrong account")
    assert (await login(maker.user.username)).status_code == 303
    edit = (await client.get(f"/actions/{action['id']}/edit")).text
    # the form takes ids as well as numbers, so the stored payload shows as it is
    assert f'value="{wrong.id}"' in _field(edit, "toAccountId")
    form = {
        "_csrf_token": csrf_from_page(edit),
        "fromAccountId": str(source.id),
        "toAccountId": "EDITRIGHT1",
        "amount": "10.00",
        "currency": "EUR",
        "reference": "Test transfer",
    }
    done = await client.post(f"/actions/{action['id']}/resubmit", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    rows = await fetch(db, "SELECT payload, version FROM workflow_actions")
    assert (rows[0][0]["toAccountId"], rows[0][1]) == (str(right.id), 2)
