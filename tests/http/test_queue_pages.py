"""A long queue is worked page by page, oldest first, and its live refresh stays on the page shown."""

import re

import pytest

from app.workflow import service
from tests.factories import promotion_payload
from tests.http.conftest import HX

pytestmark = pytest.mark.anyio


async def _pending_promotions(db, maker, count: int) -> list[str]:
    codes = [f"PAGE-{i:03d}" for i in range(count)]
    async with db.sessions() as session, session.begin():
        for code in codes:
            await service.submit_action(
                session=session,
                maker=maker.user,
                action_type="create_promotion",
                raw_payload=promotion_payload(code=code),
            )
    return codes


async def test_the_queue_shows_fifty_rows_a_page_oldest_first(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    codes = await _pending_promotions(db, maker, 53)
    assert (await login(checker.user.username)).status_code == 303

    first = await client.get("/queue")
    second = await client.get("/queue?page=2", headers=HX)

    assert first.status_code == second.status_code == 200
    first_codes = re.findall(r"Promotion (PAGE-\d{3})", first.text)
    second_codes = re.findall(r"Promotion (PAGE-\d{3})", second.text)
    assert first_codes == codes[:50]
    assert second_codes == codes[50:]
    assert "53 pending" in first.text
    assert "Page 1 of 2" in first.text and 'href="/queue?page=2"' in first.text
    assert 'id="queue-page" name="page" value="2"' in second.text  # the live refresh asks for page 2 again
    assert 'href="/queue?page=1"' in second.text


async def test_paging_keeps_the_type_filter(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    await _pending_promotions(db, maker, 51)
    assert (await login(checker.user.username)).status_code == 303

    page = await client.get("/queue?actionType=create_promotion")

    assert 'href="/queue?page=2&amp;actionType=create_promotion"' in page.text
    assert (await client.get("/queue?actionType=create_user")).text.count("Promotion PAGE-") == 0
