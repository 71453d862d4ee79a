"""The OpenAPI viewers, served from static/vendor so that they work with no internet.

Each page loads its scripts from this server and runs no inline script, so the policy of
/schema pages can keep `script-src 'self'`.
"""

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin, YamlRenderPlugin

VENDOR = "/static/vendor"
VIEWER_ASSETS = {
    "swagger_js": "swagger-ui-5.35.0-bundle.js",
    "swagger_preset_js": "swagger-ui-5.35.0-standalone-preset.js",
    "swagger_css": "swagger-ui-5.35.0.css",
    "redoc_js": "redoc-2.5.4.standalone.js",
}
SWAGGER_INIT_JS = "/static/js/swagger-init.js"


def _asset(key: str) -> str:
    return f"{VENDOR}/{VIEWER_ASSETS[key]}"


def _page(title: str, head: str, body: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
{head}
</head>
<body>
{body}
</body>
</html>
""".encode()


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI, started by a static script that fetches the description from its URL."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec_url = escape(self.get_openapi_json_route(request))
        head = f'<link rel="stylesheet" href="{_asset("swagger_css")}">'
        body = f"""<div id="swagger-ui" data-spec-url="{spec_url}"></div>
<script src="{_asset("swagger_js")}"></script>
<script src="{_asset("swagger_preset_js")}"></script>
<script src="{SWAGGER_INIT_JS}"></script>"""
        return _page(openapi_schema["info"]["title"], head, body)


class RedocPage(OpenAPIRenderPlugin):
    """Redoc: its standalone bundle renders the <redoc> element by itself."""

    def __init__(self, path: str = "/redoc") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec_url = escape(self.get_openapi_json_route(request))
        body = f"""<redoc spec-url="{spec_url}"></redoc>
<script src="{_asset("redoc_js")}"></script>"""
        return _page(openapi_schema["info"]["title"], "", body)


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Redoc first: it also answers /schema itself. Viewers not vendored here are not served."""
    return [RedocPage(), SwaggerPage(), YamlRenderPlugin()]
