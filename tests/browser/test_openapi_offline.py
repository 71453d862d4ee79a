"""The OpenAPI viewers render with no internet: every request leaving the app's server is refused."""

from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.browser.conftest import WAIT_MS


def offline_page(context: BrowserContext, base_url: str) -> tuple[Page, list[str], list[str]]:
    """A page whose requests outside the app fail; returns it, the refused URLs and console errors."""
    refused: list[str] = []
    errors: list[str] = []

    def only_the_app(route: Route, request: Request) -> None:
        if request.url.startswith(base_url):
            route.continue_()
        else:
            refused.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_app)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return page, refused, errors


def test_swagger_ui_renders_offline(server, new_context):
    page, refused, errors = offline_page(new_context(), server.url)
    page.goto(f"{server.url}/schema/swagger")
    operation = page.locator(".opblock-summary-path", has_text="/api/workflow/actions/{action_id}/review")
    expect(operation.first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".opblock-post").first).to_be_visible()
    assert refused == []
    assert [error for error in errors if "Content Security Policy" in error] == []


def test_redoc_renders_offline(server, new_context):
    page, refused, errors = offline_page(new_context(), server.url)
    page.goto(f"{server.url}/schema/redoc")
    expect(page.get_by_role("heading", name="Maker-checker workflow API").first).to_be_visible(
        timeout=WAIT_MS
    )
    expect(page.get_by_text("/api/workflow/actions/{action_id}/review").first).to_be_attached()
    assert refused == []
    blocked = [error for error in errors if "Content Security Policy" in error]
    # Redoc's "powered by" footer links its logo from its CDN: the policy keeps that request from leaving
    assert [error for error in blocked if "cdn.redoc.ly/redoc/logo-mini.svg" not in error] == []
