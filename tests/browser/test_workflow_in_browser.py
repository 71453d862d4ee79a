"""A maker and a checker use the system in Chromium, in two separate browser contexts."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_login_succeeds_with_the_right_password_and_fails_generically_otherwise(server, people, new_context):
    maker = people("maker")
    page = new_context().new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(maker.username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("Wrong username or password")
    expect(page.get_by_label("Username")).to_have_value(maker.username)
    screenshot(page, "login-failed")

    page.get_by_label("Password").fill(maker.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url + "/actions/new")
    expect(page.get_by_role("heading", name="New request")).to_be_visible()


def test_checker_sees_new_request_live_and_approves_it_inline(server, people, new_context):
    maker, checker = people("maker"), people("checker")
    queue = log_in(new_context(), server.url, checker, "/queue")
    expect(queue.locator("#queue-status")).to_have_text("0 pending")

    form = log_in(new_context(), server.url, maker, "/actions/new")
    form.get_by_label("Username").fill("live.one")
    form.get_by_label("Full name").fill("Live One")
    form.get_by_label("Email").fill("live.one@example.com")
    form.get_by_role("button", name="Submit for review").click()
    expect(form.locator("#submitted-link")).to_be_visible()

    row = queue.locator("tr", has_text="live.one")
    expect(row).to_be_visible()  # arrived without navigation, through SSE
    assert queue.url.endswith("/queue")
    screenshot(queue, "queue")

    row.get_by_role("button", name="Approve").click()
    expect(queue.locator("#decisions")).to_contain_text("Action approved and executed")
    expect(queue.locator("#decisions .activation-url")).to_contain_text("/activate/")
    expect(queue.locator("tr", has_text="live.one")).to_have_count(0)
    expect(queue.locator("#queue-status")).to_have_text("0 pending")
    screenshot(queue, "queue-after-approval")
