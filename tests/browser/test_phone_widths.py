"""Every page a person reaches from the navigation fits a phone's width: nothing scrolls sideways."""

import pytest

from tests.browser.conftest import log_in

PHONE = {"width": 390, "height": 844}
PAGES = [
    "/actions/new/",
    "/my-requests/",
    "/queue",
    "/history",
    "/policies",
    "/admin/users",
    "/admin/outbox",
    "/account/tokens/",
    "/records/accounts",
    "/records/users",
    "/records/promotions",
    "/actions/new?actionType=transfer_funds",
    "/actions/new?actionType=update_promotion",
]


@pytest.mark.parametrize("path", PAGES)
def test_the_page_fits_a_phone_screen(server, people, new_context, path):
    admin = people("maker", "checker", "admin")
    page = log_in(new_context(**PHONE), server.url, admin, path)
    page.wait_for_load_state()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} is {overflow}px wider than a 390px screen"
