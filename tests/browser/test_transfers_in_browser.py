"""A transfer in Chromium: the maker starts it from the paying account (?record=), names the receiving
account by its number (an unknown one is refused inline), and a checker approves it on its page,
which then shows both balances."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.db import Database, run_blocking
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_accessibility import axe_violations
from tests.factories import make_account, set_policy

pytestmark = pytest.mark.browser


def _accounts(database_url: str, owner_id: str) -> tuple[str, str]:
    """Two EUR accounts of the owner (100.00 and 5.00); transfers approved without step-up."""

    async def work() -> tuple[str, str]:
        db = Database.connect(database_url, pool_size=1)
        try:
            from app.models import User

            async with db.sessions() as session:
                owner = await session.get(User, owner_id)
            source = await make_account(db, owner, balance="100.00", number="BRWSRC0001")
            await make_account(db, owner, balance="5.00", number="BRWDST0001")
            # this test is about the money; the password step-up has its own tests
            await set_policy(db, "transfer_funds", step_up=False)
            return str(source.id), str(source.currency)
        finally:
            await db.dispose()

    return run_blocking(work)


def _balances(database_url: str) -> dict[str, Decimal]:
    async def work() -> dict[str, Decimal]:
        db = Database.connect(database_url, pool_size=1)
        try:
            from sqlalchemy import text

            async with db.engine.connect() as conn:
                rows = await conn.execute(text("SELECT account_number, balance FROM accounts"))
                return dict(rows.all())
        finally:
            await db.dispose()

    return run_blocking(work)


def test_a_maker_requests_a_transfer_and_a_checker_approves_it(server, people, new_context, database_url):
    maker, checker = people("maker"), people("checker")
    source_id, _ = _accounts(database_url, maker.user_id)

    form = log_in(new_context(), server.url, maker, "/actions/new")
    # the records pages link here to start a transfer from an account
    form.goto(f"{server.url}/actions/new?actionType=transfer_funds&record={source_id}")
    expect(form.get_by_label("Type of request")).to_have_value("transfer_funds")
    expect(form.get_by_label("From account")).to_have_value("BRWSRC0001")
    expect(form.get_by_label("Currency")).to_have_value("EUR")
    form.get_by_label("To account").fill("NOSUCH0001")
    form.get_by_label("Amount").fill("40")
    form.get_by_label("Reference").fill("Rent May")
    form.get_by_role("button", name="Submit for review").click()
    expect(form.locator("#error-toAccountId")).to_have_text("No account has this number or id")
    expect(form.get_by_label("To account")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Reference")).to_have_value("Rent May")  # the rest is kept
    assert axe_violations(form) == []
    form.get_by_label("To account").fill("brwdst0001")
    form.get_by_role("button", name="Submit for review").click()
    expect(form.locator("#submitted-link")).to_be_visible()
    detail_path = form.locator("#submitted-link").get_attribute("href")
    assert _balances(database_url) == {"BRWSRC0001": Decimal("100.00"), "BRWDST0001": Decimal("5.00")}

    page = log_in(new_context(), server.url, checker, detail_path)
    expect(page.locator("hgroup p")).to_have_text(
        "Transfer 40.00 EUR from BRWSRC0001 ("
        + maker.username.title()
        + ") to BRWDST0001 ("
        + maker.username.title()
        + "): Rent May"
    )
    expect(page.locator(".payload .amount")).to_have_text("40.00 EUR")
    page.get_by_role("button", name="Approve").click()
    panel = page.locator(".decision-panel")
    expect(panel).to_contain_text("Action approved and executed")
    expect(panel.locator(".from-balance")).to_have_text("balance now 60.00 EUR")
    expect(panel.locator(".to-balance")).to_have_text("balance now 45.00 EUR")

    page.reload()
    expect(page.locator(".transfer-result .from-balance")).to_have_text("balance now 60.00 EUR")
    expect(page.locator(".transfer-result .to-balance")).to_have_text("balance now 45.00 EUR")
    screenshot(page, "transfer-approved")
    assert _balances(database_url) == {"BRWSRC0001": Decimal("60.00"), "BRWDST0001": Decimal("45.00")}
