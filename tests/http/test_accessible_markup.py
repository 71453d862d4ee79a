"""What assistive technology reads from the markup: labels, states tied to fields, live regions, nav."""

import re

import pytest

from tests.factories import promotion_payload, submit
from tests.http.conftest import HX, csrf_headers, row_html

pytestmark = pytest.mark.anyio


def _tag(html: str, element_id: str) -> str:
    found = re.search(rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', html)
    assert found, f"no element with id {element_id}"
    return found.group(0)


def _ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def _described_by_resolves(html: str) -> None:
    """Every aria-describedby names ids present in the same markup."""
    for ids in re.findall(r'aria-describedby="([^"]+)"', html):
        assert set(ids.split()) <= _ids(html), f"aria-describedby={ids!r} names a missing id"


@pytest.fixture
async def checker_and_maker(client, login, person):
    maker, checker = await person("maker"), await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    return maker, checker


async def test_every_page_has_a_skip_link_and_marks_the_current_nav_item(client, login, person):
    ana = await person("maker", "checker")
    assert (await login(ana.user.username)).status_code == 303
    for path, current in (
        ("/queue", "Pending queue"),
        ("/history", "History"),
        ("/actions/new", "New request"),
    ):
        html = (await client.get(path)).text
        assert re.search(r'<body[^>]*>\s*<a href="#main" class="skip-link">Skip to main content</a>', html)
        assert re.search(r'<main[^>]*id="main"[^>]*tabindex="-1"', html)
        marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', html)
        assert marked == [current], path


async def test_the_queue_comment_field_has_a_visible_label(client, checker_and_maker):
    maker, _ = checker_and_maker
    action = await submit(client, maker, "create_promotion", promotion_payload())
    row = row_html((await client.get("/queue")).text, action["id"])
    comment_id = f"comment-{action['id']}"
    label = re.search(rf'<label for="{comment_id}"[^>]*>(.*?)</label>', row, re.DOTALL)
    assert label, "the comment field has no <label>"
    assert "Comment" in label.group(1)
    assert not re.match(r'<label[^>]*class="[^"]*visually-hidden', label.group(0))
    assert "placeholder=" not in _tag(row, comment_id)


async def test_a_refused_decision_marks_the_comment_field_and_points_to_the_message(
    client, checker_and_maker
):
    maker, _ = checker_and_maker
    action = await submit(client, maker, "create_promotion", promotion_payload())
    await client.get("/queue")
    response = await client.post(
        f"/actions/{action['id']}/review",
        data={"decision": "rejected", "comment": ""},
        headers=csrf_headers(client) | HX,
    )
    assert response.status_code == 422
    row = row_html(response.text, action["id"])
    comment = _tag(row, f"comment-{action['id']}")
    assert 'aria-invalid="true"' in comment
    described = re.search(r'aria-describedby="([^"]+)"', comment)
    assert described
    message = re.search(rf'<[^>]*id="{described.group(1)}"[^>]*>([^<]*)<', row)
    assert message and message.group(1).strip() == "Say why you reject"
    _described_by_resolves(row)


async def test_form_errors_are_tied_to_their_fields(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    response = await client.post(
        "/actions/new",
        data={"actionType": "create_promotion", "code": "x", "discountType": "fixed"},
        headers=csrf_headers(client) | HX,
    )
    assert response.status_code == 422
    html = response.text
    for field in ("code", "name", "discountValue", "startDate", "endDate"):
        control = _tag(html, f"field-{field}")
        assert 'aria-invalid="true"' in control, field
        assert f'aria-describedby="error-{field}"' in control, field
    assert 'aria-invalid="true"' not in _tag(html, "field-discountType")
    _described_by_resolves(html)
    assert "payload" not in html.lower()


async def test_a_form_without_errors_describes_fields_by_their_hints(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    html = (await client.get("/actions/new?actionType=create_account")).text
    assert 'aria-describedby="hint-accountNumber"' in _tag(html, "field-accountNumber")
    assert "aria-invalid" not in html
    _described_by_resolves(html)


async def test_the_live_indicator_and_the_history_count_are_live_regions(client, checker_and_maker):
    queue = (await client.get("/queue")).text
    live = _tag(queue, "live-state")
    assert 'role="status"' in live or 'aria-live="polite"' in live

    history = (await client.get("/history")).text
    count = _tag(history, "history-count")
    assert 'role="status"' in count or 'aria-live="polite"' in count
    # the live region stays in the page while the table under it is swapped by the filters
    assert history.index('id="history-count"') < history.index('id="history-table"')
    fragment = (await client.get("/history?status=approved", headers=HX)).text
    assert 'id="history-count"' in fragment and 'hx-swap-oob="innerHTML"' in _tag(fragment, "history-count")


async def test_the_confirmation_heading_takes_focus_without_a_status_role(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    response = await client.post(
        "/actions/new",
        data={"actionType": "create_promotion", **promotion_payload()},
        headers=csrf_headers(client) | HX,
    )
    assert response.status_code == 200
    heading = re.search(r"<h2[^>]*>Request submitted</h2>", response.text)
    assert heading
    assert "role=" not in heading.group(0)
    assert 'tabindex="-1"' in heading.group(0) and "data-focus-after-swap" in heading.group(0)
