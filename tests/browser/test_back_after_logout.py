"""After logging out, Back shows the login page: nothing signed-in is kept for history to restore."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def htmx_history(page: Page) -> str:
    return page.evaluate("() => sessionStorage.getItem('htmx-history-cache') || ''")


def test_back_after_logout_shows_the_login_page_and_no_cached_signed_in_content(server, people, new_context):
    checker = people("checker")
    page = log_in(new_context(), server.url, checker, "/queue")
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    nav.get_by_role("link", name="Pending queue").click()
    expect(page.get_by_role("heading", name="Pending queue")).to_be_visible()
    assert checker.username not in htmx_history(page).lower()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(server.url + "/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.go_back()
    expect(page).to_have_url(re.compile(r".*/login\?next=/queue$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    cached = htmx_history(page)
    assert checker.username not in cached.lower()
    assert "Log out" not in cached
