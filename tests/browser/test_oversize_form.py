"""A form too large for the server says so in the page, instead of failing silently."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_an_oversize_request_form_shows_why_it_was_refused(server, people, new_context):
    maker = people("maker")
    page = log_in(new_context(), server.url, maker, "/actions/new")
    # no person types 64 KB into a name, but a pasted file or a script can send it
    page.get_by_label("Full name").evaluate("(input, size) => { input.value = 'x'.repeat(size); }", 70_000)
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_role("alert")).to_contain_text("The request is too large: send at most 64 KB")
    screenshot(page, "oversize-form")
