"""The OpenAPI viewers are served from static/vendor: they work with no internet."""

import re

import pytest

from app.settings import PROJECT_ROOT
from app.web.headers import SCHEMA_CONTENT_SECURITY_POLICY
from app.web.openapi import VIEWER_ASSETS

pytestmark = pytest.mark.anyio

VIEWERS = ["/schema", "/schema/swagger", "/schema/redoc"]


def referenced_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


async def test_viewers_reference_only_local_assets(client):
    for path in VIEWERS:
        response = await client.get(path)
        assert response.status_code == 200, path
        urls = referenced_urls(response.text)
        assert urls, path
        for url in urls:
            assert url.startswith("/"), f"{path} loads {url}"
            assert not url.startswith("//"), f"{path} loads {url}"
        assert "http://" not in response.text and "https://" not in response.text, path


async def test_swagger_page_loads_its_vendored_bundle(client):
    html = (await client.get("/schema/swagger")).text
    urls = referenced_urls(html)
    assert "/static/vendor/swagger-ui-5.35.0-bundle.js" in urls
    assert "/static/vendor/swagger-ui-5.35.0.css" in urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url


def test_every_vendored_viewer_asset_is_in_the_vendor_folder_and_readme():
    readme = (PROJECT_ROOT / "static" / "vendor" / "README.md").read_text()
    for name in VIEWER_ASSETS.values():
        assert (PROJECT_ROOT / "static" / "vendor" / name).is_file(), name
        assert f"`{name}`" in readme, name


async def test_viewers_not_vendored_are_not_served(client):
    for path in ["/schema/elements", "/schema/rapidoc", "/schema/scalar"]:
        assert (await client.get(path)).status_code == 404, path


async def test_schema_pages_get_a_policy_fitted_to_them(client):
    for path in VIEWERS:
        response = await client.get(path)
        policy = response.headers["content-security-policy"]
        assert policy == SCHEMA_CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in policy  # no inline script, no other origin
        assert "http" not in policy
