"""Templates link to our pages by route name (url_for), so a moved route cannot leave a dead link behind."""

import re

from app.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
LINK_ATTRIBUTES = (
    "href",
    "src",
    "action",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-patch",
    "hx-delete",
    "sse-connect",
)
HARD_CODED = re.compile(rf"""\b({"|".join(LINK_ATTRIBUTES)})\s*=\s*["']\s*/""")
"""An attribute whose value starts with a path written out, rather than with {{ url_for(...) }}."""
PATH_ARGUMENT = re.compile(r"""current\(\s*["']/""")
"""The navigation's "this page" marker compares the request path with a route's path."""


def _hard_coded_links() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in (*HARD_CODED.finditer(line), *PATH_ARGUMENT.finditer(line)):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {match.group(0)}")
    return found


def test_templates_link_to_routes_by_name():
    assert _hard_coded_links() == []


def test_the_check_catches_the_usual_forms():
    samples = [
        '<a href="/queue">',
        "<form action='/login'>",
        '<div hx-get="/queue">',
        'sse-connect="/queue/events"',
    ]
    assert all(HARD_CODED.search(sample) for sample in samples)
    assert not HARD_CODED.search("<a href=\"{{ url_for('queue') }}\">")
    assert not HARD_CODED.search('<a href="#main">')
