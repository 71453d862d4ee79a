"""Screenshots for the README: a fresh server with demo users and a few requests, seen in Chromium.

Run with `.venv/bin/python docs/screenshots.py` (needs Debian's chromium). It starts
`maker-checker serve` on a free loopback port with an embedded database in a temporary DATA_DIR,
and writes docs/queue.png, docs/queue-phone.png, docs/detail.png, docs/policies.png,
docs/versions.png, docs/my-requests.png, docs/queue-dense.png, docs/bulk-review.png and
docs/records-account.png.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.servers import free_port, wait_until_serving  # noqa: E402

BIN = Path(sys.executable).parent
REQUESTS = [
    ("create_user", {"email": "jane@example.com", "username": "jane", "fullName": "Jane Doe"}),
    (
        "create_promotion",
        {
            "code": "SPRING10",
            "name": "Spring sale",
            "discountType": "percentage",
            "discountValue": "10",
            "startDate": "2027-03-01T09:00:00+01:00",
            "endDate": "2027-03-31T23:59:00+02:00",
        },
    ),
    ("create_user", {"email": "omar@example.com", "username": "omar", "fullName": "Omar Haddad"}),
]


def _passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+([a-z0-9]+)\s+(\S+)\s+roles:", output, flags=re.M))


def _token(username: str, env: dict[str, str]) -> str:
    command = [str(BIN / "maker-checker"), "create-token", username]
    return subprocess.run(command, env=env, capture_output=True, check=True).stdout.decode().strip()


def _headers(env: dict[str, str], username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(username, env)}"}


def _post(base: str, path: str, body: dict, headers: dict[str, str]) -> dict:
    response = httpx.post(f"{base}{path}", json=body, headers=headers)
    response.raise_for_status()
    return response.json()["data"]


def _two_approvals_for_promotions(base: str, env: dict[str, str]) -> None:
    """admin proposes that promotions need two approvals, admin2 approves: the screenshots show N-of-M."""
    change = {"targetType": "create_promotion", "baseVersion": 0, "enabled": True, "requiredApprovals": 2}
    change |= {"ttlHours": 72, "reviewerRole": "checker"}
    proposed = _post(
        base,
        "/api/workflow/actions",
        {"actionType": "update_policy", "payload": change},
        _headers(env, "admin"),
    )
    _post(
        base,
        f"/api/workflow/actions/{proposed['id']}/review",
        {"status": "approved"},
        _headers(env, "admin2"),
    )


def _submit_requests(base: str, env: dict[str, str]) -> list[str]:
    headers = _headers(env, "maker")
    ids = []
    for action_type, payload in REQUESTS:
        response = httpx.post(
            f"{base}/api/workflow/actions",
            json={"actionType": action_type, "payload": payload},
            headers=headers,
        )
        response.raise_for_status()
        ids.append(response.json()["data"]["id"])
    return ids


def _log_in(page: Page, base: str, username: str, password: str, next_path: str = "/queue") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(f".*{re.escape(next_path)}.*"))


def _my_requests_with_a_notice(
    browser: Any, base: str, env: dict[str, str], password: str, ids: list[str]
) -> None:
    """The maker's My requests as a checker approves one of them: the notice and the header's count."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, base, "maker", password, "/my-requests")
    page.locator("#notices-since").wait_for(state="attached", timeout=10_000)
    page.wait_for_timeout(500)  # screenshots only: let the page's first notices request settle
    _post(base, f"/api/workflow/actions/{ids[0]}/review", {"status": "approved"}, _headers(env, "checker"))
    page.locator(".toast").wait_for(timeout=10_000)
    page.screenshot(path=str(ROOT / "docs" / "my-requests.png"))


def _dense_queue(browser: Any, base: str, env: dict[str, str], password: str) -> None:
    """The dense queue at 1280x800 with a row selected by the keyboard: 20 requests and more."""
    headers = _headers(env, "maker")
    for n in range(1, 23):
        payload = {
            "code": f"SPRING-{n:02d}",
            "name": f"Spring offer {n}",
            "discountType": "percentage",
            "discountValue": str(5 + n % 4 * 5),
            "startDate": "2027-04-01T00:00:00Z",
            "endDate": "2027-05-31T00:00:00Z",
        }
        _post(base, "/api/workflow/actions", {"actionType": "create_promotion", "payload": payload}, headers)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, base, "checker", password, "/queue?dense=1")
    page.locator("#live-state[data-state=open]").wait_for(timeout=10_000)
    for _ in range(3):
        page.keyboard.press("j")
    page.screenshot(path=str(ROOT / "docs" / "queue-dense.png"))


def _bulk_review(browser: Any, base: str, password: str, ids: list[str]) -> None:
    """The checker's Review selected page for every request in the queue."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, base, "checker", password)
    for action_id in ids:
        page.locator(f"#select-{action_id}").check()
    page.get_by_role("button", name="Review selected").click()
    page.locator("table.bulk-precheck").wait_for(timeout=10_000)
    page.screenshot(path=str(ROOT / "docs" / "bulk-review.png"), full_page=True)


def _approved(base: str, env: dict[str, str], action_type: str, payload: dict, password: str) -> dict:
    """Submitted by the maker and approved by the checker (with their password, for a step-up)."""
    submitted = _post(
        base, "/api/workflow/actions", {"actionType": action_type, "payload": payload}, _headers(env, "maker")
    )
    decision = {"status": "approved", "password": password}
    return _post(base, f"/api/workflow/actions/{submitted['id']}/review", decision, _headers(env, "checker"))


def _account_with_its_ledger(browser: Any, base: str, env: dict[str, str], passwords: dict[str, str]) -> None:
    """An account opened and paid from and into by approved transfers: its page, balance and ledger."""
    user = {"email": "ana@example.com", "username": "ana", "fullName": "Ana Lopez"}
    ana = _approved(base, env, "create_user", user, passwords["checker"])["executionResult"]["userId"]
    accounts = []
    for number, balance in (("GB29NWBK60161331926819", "5000.00"), ("GB94BARC10201530093459", "1200.00")):
        opened = {"userId": ana, "accountNumber": number, "accountType": "checking"}
        opened |= {"balance": balance, "currency": "EUR"}
        result = _approved(base, env, "create_account", opened, passwords["checker"])["executionResult"]
        accounts.append(result["accountId"])
    paying, receiving = accounts
    for source, target, amount, reference in (
        (paying, receiving, "250.00", "Rent December"),
        (receiving, paying, "75.50", "Refund of deposit"),
        (paying, receiving, "1200.00", "Savings"),
    ):
        transfer = {"fromAccountId": source, "toAccountId": target, "amount": amount, "currency": "EUR"}
        _approved(base, env, "transfer_funds", transfer | {"reference": reference}, passwords["checker"])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, base, "maker", passwords["maker"], f"/records/accounts/{paying}")
    page.screenshot(path=str(ROOT / "docs" / "records-account.png"), full_page=True)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="mc-shots-"))
    port = free_port()
    env = os.environ | {"DATA_DIR": str(data_dir), "PORT": str(port), "APP_ENV": "development"}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [str(BIN / "maker-checker"), "serve", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = wait_until_serving(server, timeout=120).decode()
        base = f"http://127.0.0.1:{port}"
        passwords = _passwords(output)
        _two_approvals_for_promotions(base, env)
        ids = _submit_requests(base, env)
        # the promotion has one of its two approvals: the queue says who, and that it needs 1 more
        _post(
            base, f"/api/workflow/actions/{ids[1]}/review", {"status": "approved"}, _headers(env, "checker2")
        )
        # omar's request was sent back and resubmitted with a fuller name: its page shows both versions
        _post(
            base,
            f"/api/workflow/actions/{ids[2]}/review",
            {"status": "changes_requested", "reviewComment": "Use his full name, as on his contract"},
            _headers(env, "checker2"),
        )
        _post(
            base,
            f"/api/workflow/actions/{ids[2]}/resubmit",
            {"payload": REQUESTS[2][1] | {"fullName": "Omar El Haddad"}},
            _headers(env, "maker"),
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            _log_in(page, base, "checker", passwords["checker"])
            page.locator("#live-state[data-state=open]").wait_for(timeout=10_000)
            page.screenshot(path=str(ROOT / "docs" / "queue.png"))
            page.goto(f"{base}/actions/{ids[1]}")
            page.screenshot(path=str(ROOT / "docs" / "detail.png"), full_page=True)
            page.goto(f"{base}/actions/{ids[2]}")
            page.locator("#versions").scroll_into_view_if_needed()
            page.screenshot(path=str(ROOT / "docs" / "versions.png"), full_page=True)
            admin = browser.new_page(viewport={"width": 1280, "height": 800})
            _log_in(admin, base, "admin", passwords["admin"])
            admin.goto(f"{base}/policies")
            admin.screenshot(path=str(ROOT / "docs" / "policies.png"))
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            _log_in(phone, base, "checker2", passwords["checker2"])
            phone.screenshot(path=str(ROOT / "docs" / "queue-phone.png"))
            _bulk_review(browser, base, passwords["checker"], ids)
            _my_requests_with_a_notice(browser, base, env, passwords["maker"], ids)
            _dense_queue(browser, base, env, passwords["checker"])
            _account_with_its_ledger(browser, base, env, passwords)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
