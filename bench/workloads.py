"""The requests of each workload, as closed-loop calls (see load.Call)."""

import json

import aiohttp

from bench.load import Call

JSON = {"Content-Type": "application/json"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def promotion_body(code: str) -> bytes:
    """The tutorial's create_promotion submission."""
    payload = {
        "code": code,
        "name": "Bench promotion",
        "description": "Ten percent off",
        "discountType": "percentage",
        "discountValue": "10",
        "startDate": "2027-03-01",
        "endDate": "2027-03-31",
    }
    return json.dumps({"actionType": "create_promotion", "payload": payload}).encode()


def submit(base: str, maker_tokens: list[str], tag: str, created: list[str]) -> Call:
    """POST a new promotion; the ids of the actions created are appended to `created`."""
    url = f"{base}/api/workflow/actions"

    async def call(http: aiohttp.ClientSession, number: int, client_no: int) -> int:
        headers = JSON | _bearer(maker_tokens[client_no % len(maker_tokens)])
        body = promotion_body(f"BENCH-{tag}-{number:07d}")
        async with http.post(url, data=body, headers=headers) as response:
            answer = await response.read()
            if response.status == 201:
                created.append(json.loads(answer)["data"]["id"])
            return response.status

    return call


def approve(base: str, checker_tokens: list[str], action_ids: list[str]) -> Call:
    """Approve (and so execute) action number N of `action_ids`."""
    body = json.dumps({"status": "approved"}).encode()

    async def call(http: aiohttp.ClientSession, number: int, client_no: int) -> int:
        headers = JSON | _bearer(checker_tokens[client_no % len(checker_tokens)])
        url = f"{base}/api/workflow/actions/{action_ids[number]}/review"
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status

    return call


def list_pending(base: str, token: str, pages: tuple[int, ...]) -> Call:
    """GET the API's list of pending actions, 50 a page, cycling through a few pages."""

    async def call(http: aiohttp.ClientSession, number: int, client_no: int) -> int:
        page = pages[number % len(pages)]
        url = f"{base}/api/workflow/actions?status=pending&page={page}&limit=50"
        async with http.get(url, headers=_bearer(token)) as response:
            await response.read()
            return response.status

    return call


def queue_page(base: str, session_ids: list[str], pages: tuple[int, ...]) -> Call:
    """GET the queue page as a signed-in checker (the clients share the checkers' browser sessions)."""

    async def call(http: aiohttp.ClientSession, number: int, client_no: int) -> int:
        page = pages[number % len(pages)]
        headers = {"Cookie": f"mc_session={session_ids[client_no % len(session_ids)]}"}
        async with http.get(f"{base}/queue?page={page}", headers=headers) as response:
            await response.read()
            return response.status

    return call
