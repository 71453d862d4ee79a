"""The queue and History page through one pager macro: same markup, links that keep each page's filters."""

import re
from html.parser import HTMLParser

import pytest

from app.workflow import service
from tests.factories import promotion_payload

pytestmark = pytest.mark.anyio

PAGER = re.compile(r'<nav aria-label="[^"]*" class="pager">.*?</nav>', re.S)


class _Skeleton(HTMLParser):
    """The tags and attribute names of some markup, with rel values kept: its shape without its words."""

    def __init__(self) -> None:
        super().__init__()
        self.shape: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = sorted(name if name != "rel" else f"rel={value}" for name, value in attrs)
        self.shape.append(f"<{tag} {' '.join(names)}>")

    def handle_endtag(self, tag: str) -> None:
        self.shape.append(f"</{tag}>")


def _pager(html: str) -> str:
    found = PAGER.findall(html)
    assert len(found) == 1, "expected one nav.pager"
    return found[0]


def _shape(html: str) -> list[str]:
    parser = _Skeleton()
    parser.feed(_pager(html))
    return parser.shape


def _links(html: str) -> dict[str, str]:
    return {
        rel: href.replace("&amp;", "&")
        for href, rel in re.findall(r'href="([^"]+)" rel="(\w+)"', _pager(html))
    }


async def _pending_promotions(db, maker, count: int) -> None:
    async with db.sessions() as session, session.begin():
        for _ in range(count):
            await service.submit_action(
                session=session,
                maker=maker.user,
                action_type="create_promotion",
                raw_payload=promotion_payload(),
            )


async def test_queue_and_history_pagers_share_one_markup_and_keep_their_filters(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    await _pending_promotions(db, maker, 51)  # queue: 50 a page, 2 pages; History: 25 a page, 3 pages
    assert (await login(checker.user.username)).status_code == 303
    history_filters = f"status=pending&actionType=create_promotion&makerId={maker.id}"

    queue_first = (await client.get("/queue?actionType=create_promotion")).text
    history_first = (await client.get(f"/history?{history_filters}")).text
    queue_last = (await client.get("/queue?actionType=create_promotion&page=2")).text
    history_middle = (await client.get(f"/history?{history_filters}&page=2")).text

    assert _shape(queue_first) == _shape(history_first)
    assert "Page 1 of 2" in _pager(queue_first) and "Page 1 of 3" in _pager(history_first)
    assert _links(queue_first) == {"next": "/queue?page=2&actionType=create_promotion"}
    assert _links(queue_last) == {"prev": "/queue?page=1&actionType=create_promotion"}
    assert _links(history_middle) == {
        "prev": f"/history?page=1&{history_filters}",
        "next": f"/history?page=3&{history_filters}",
    }


async def test_history_pager_leaves_out_filters_not_chosen(client, db, login, person):
    maker, checker = await person("maker"), await person("checker")
    await _pending_promotions(db, maker, 26)
    assert (await login(checker.user.username)).status_code == 303

    assert _links((await client.get("/history?status=pending")).text) == {
        "next": "/history?page=2&status=pending"
    }
