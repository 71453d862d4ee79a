"""A promotion's start and end are instants: the form says how it reads a date, the pages show the time."""

import pytest

from tests.factories import promotion_payload, submit
from tests.http.conftest import csrf_headers

pytestmark = pytest.mark.anyio


@pytest.fixture
async def checker_in_browser(client, login, person):
    checker = await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    return checker


async def test_detail_and_summary_show_the_times_in_utc(client, maker, checker_in_browser):
    payload = promotion_payload(
        code="TIMED-1", startDate="2027-01-01T09:30:00+02:00", endDate="2027-01-31T18:00:00Z"
    )
    action = await submit(client, maker, "create_promotion", payload)
    assert action["summary"].endswith("2027-01-01 07:30 UTC to 2027-01-31 18:00 UTC")
    html = (await client.get(f"/actions/{action['id']}")).text
    assert '<time datetime="2027-01-01T07:30:00Z">2027-01-01 07:30:00 UTC</time>' in html
    assert '<time datetime="2027-01-31T18:00:00Z">2027-01-31 18:00:00 UTC</time>' in html


async def test_the_form_reads_a_date_as_its_midnight_utc_and_says_so(client, login, person):
    maker = await person("maker")
    assert (await login(maker.user.username)).status_code == 303
    form = (await client.get("/actions/new", params={"actionType": "create_promotion"})).text
    assert "Starts at 00:00 UTC on this day" in form
    assert "Ends at 00:00 UTC on this day" in form
    response = await client.post(
        "/actions/new",
        data={"actionType": "create_promotion"} | promotion_payload(code="FORM-DATES"),
        headers=csrf_headers(client),
    )
    assert response.status_code == 200, response.text
    assert "2027-03-01 00:00 UTC to 2027-03-31 00:00 UTC" in response.text
