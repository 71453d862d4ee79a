"""History searches, and exports what it shows as CSV: the same filters, a link that carries them."""

import csv
import html
import io
import re

import pytest

from tests.backoffice_rows import insert, row
from tests.http.conftest import HX

pytestmark = pytest.mark.anyio


async def test_history_searches_and_its_export_link_carries_the_filters(client, db, login, person):
    ana, checker = await person("maker"), await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    approved, _, _ = await insert(
        db,
        [
            row(ana.user.id, minute=1, summary="Harbour refit", status="approved"),
            row(ana.user.id, minute=2, summary="Harbour refit"),
            row(ana.user.id, minute=3, summary="Something else", status="approved"),
        ],
    )
    params = {
        "status": "approved",
        "actionType": "create_promotion",
        "makerId": str(ana.user.id),
        "q": "harbour",
    }

    page = await client.get("/history", params=params)
    fragment = await client.get("/history", params=params, headers=HX)

    assert re.findall(r'id="history-row-([0-9a-f-]{36})"', page.text) == [approved]
    assert 'name="q" value="harbour"' in page.text
    link = html.unescape(re.search(r'id="history-export" href="([^"]+)"', fragment.text).group(1))
    assert link == (
        f"/history.csv?status=approved&actionType=create_promotion&makerId={ana.user.id}&q=harbour"
    )
    exported = await client.get(link)
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="history.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [approved]
    assert rows[0]["summary"] == "Harbour refit" and rows[0]["maker"] == ana.user.username


async def test_the_export_of_an_unfiltered_history_has_every_action(client, db, login, person):
    ana, checker = await person("maker"), await person("checker")
    assert (await login(checker.user.username)).status_code == 303
    ids = await insert(
        db, [row(ana.user.id, minute=i, summary=f"-{i} starts with a minus") for i in range(3)]
    )

    page = await client.get("/history")
    exported = await client.get(
        "/history.csv?status=bogus"
    )  # the page ignores odd filters; so does its export

    assert 'id="history-export" href="/history.csv?"' in page.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == ids[::-1]
    assert rows[0]["summary"] == "'-2 starts with a minus"


async def test_the_export_needs_a_sign_in(client):
    response = await client.get("/history.csv", follow_redirects=False)

    assert response.status_code in (302, 303, 401)
    assert "text/csv" not in response.headers.get("content-type", "")
