"""The authorization matrix: every route of the app, for every kind of caller, on their own action and on
another maker's, against the table below of what each may do.

The routes are read from the Litestar app itself, so a new route without a row in EXPECTED fails
test_every_route_has_a_row_in_the_table. Each caller behaves as a well-behaved client of its kind (a
browser sends its CSRF token; a script its bearer token), so that a refusal here is a refusal of the
caller, not of a malformed request. CSRF itself is tested in tests/http/test_csrf.py.

Callers, each both as a browser session and as a bearer token:
  anonymous  no credential at all
  maker      the maker role
  checker    the checker role
  admin      the admin role
  disabled   maker and checker, then disabled (their session and token stay on the client)
Targets: "own" is an action the caller made (for a checker or an admin: made while they were a maker),
"other" one made by another maker. Every request that can change an action gets a fresh pending one.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from app.db import Database, run_blocking
from tests.factories import Actor, make_actor, promotion_payload
from tests.servers import AppServer

# --- the table ---------------------------------------------------------------------------------------
#
# One row per route ("METHOD path" as Litestar declares it). A cell says what a caller gets:
#   "200", "201", "303", "401", "403", "404", "409"...  that status code exactly
#   "login"   a page's answer to "not signed in": 303 to /login?next=<the page>
#   "2xx"     any success (used where the exact code is not the point)
# A row is either one cell for every caller and target, or a dict by caller; a caller's cell may itself be
# a dict by target ("own" / "other"). Routes that take no action id use the "other" cell.

CALLERS = ("anonymous", "maker", "checker", "admin", "disabled")


def signed_in(cell: Any, *, anonymous: Any = "login", disabled: Any = "login") -> dict[str, Any]:
    """A row where every active user gets `cell`, and a caller without a valid identity gets the other."""
    return {"anonymous": anonymous, "maker": cell, "checker": cell, "admin": cell, "disabled": disabled}


def by_role(*, maker: Any, checker: Any, admin: Any, api: bool = False) -> dict[str, Any]:
    nobody = "401" if api else "login"
    return {"anonymous": nobody, "maker": maker, "checker": checker, "admin": admin, "disabled": nobody}


OWN_REFUSED = {"own": "403", "other": "200"}
"""A checker may review another maker's action, never their own."""

EXPECTED: dict[str, Any] = {
    # public: the same for everyone, whoever they are
    "GET /health": "200",
    "GET /schema": "200",
    "GET /schema/openapi.json": "200",
    "GET /schema/openapi.yaml": "200",
    "GET /schema/openapi.yml": "200",
    "GET /schema/redoc": "200",
    "GET /schema/swagger": "200",
    "GET /schema/{path:str}": "404",
    "GET /static/{file_path:path}": "200",
    "HEAD /static/{file_path:path}": "200",
    "GET /login": "200",
    "POST /login": "401",  # a wrong password, from anyone
    "GET /activate/{token:str}": "404",  # an unknown token, from anyone
    "POST /activate/{token:str}": "404",
    # pages for people who are signed in
    "GET /": signed_in("303"),
    "POST /logout": signed_in("303"),
    "GET /history": signed_in("200"),
    "GET /queue": signed_in("200"),
    "GET /queue/events": signed_in("200", anonymous="401", disabled="401"),
    "GET /actions/{action_id:str}": signed_in("200"),
    "GET /actions/new": by_role(maker="200", checker="403", admin="403"),
    "POST /actions/new": by_role(maker="200", checker="403", admin="403"),
    "POST /actions/{action_id:str}/review": by_role(maker="403", checker=OWN_REFUSED, admin="403"),
    # the JSON API
    "GET /api/workflow/actions": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/workflow/actions": by_role(maker="201", checker="403", admin="403", api=True),
    "GET /api/workflow/actions/{action_id:str}": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/workflow/actions/{action_id:str}/review": by_role(
        maker="403", checker=OWN_REFUSED, admin="403", api=True
    ),
}

# --- how each route is called ------------------------------------------------------------------------

PASSWORD = "matrix horse battery staple"
_CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)


@dataclass(frozen=True)
class Call:
    """How to call a route: the path's placeholders filled, and a body a legitimate client would send."""

    path: str
    json: Any = None
    form: dict[str, str] | None = None


def _promotion_form() -> dict[str, str]:
    payload = promotion_payload()
    return {"actionType": "create_promotion"} | {key: str(value) for key, value in payload.items()}


CALLS: dict[str, Any] = {
    "GET /static/{file_path:path}": lambda action_id: Call("/static/js/app.js"),
    "HEAD /static/{file_path:path}": lambda action_id: Call("/static/js/app.js"),
    "GET /schema/{path:str}": lambda action_id: Call("/schema/no-such-page"),
    "POST /login": lambda action_id: Call("/login", form={"username": "nobody", "password": "wrong"}),
    "GET /activate/{token:str}": lambda action_id: Call("/activate/not-a-token"),
    "POST /activate/{token:str}": lambda action_id: Call(
        "/activate/not-a-token", form={"password": PASSWORD, "confirm": PASSWORD}
    ),
    "POST /actions/new": lambda action_id: Call("/actions/new", form=_promotion_form()),
    "POST /actions/{action_id:str}/review": lambda action_id: Call(
        f"/actions/{action_id}/review", form={"decision": "approved", "comment": "fine"}
    ),
    "POST /api/workflow/actions": lambda action_id: Call(
        "/api/workflow/actions", json={"actionType": "create_promotion", "payload": promotion_payload()}
    ),
    "POST /api/workflow/actions/{action_id:str}/review": lambda action_id: Call(
        f"/api/workflow/actions/{action_id}/review", json={"status": "approved"}
    ),
}
"""Routes that need more than their path with the action id filled in."""

_PLACEHOLDER = re.compile(r"\{action_id:str\}")


def call_for(route: str, action_id: str) -> Call:
    if route in CALLS:
        return CALLS[route](action_id)
    return Call(_PLACEHOLDER.sub(action_id, route.split(" ", 1)[1]))


def takes_an_action(route: str) -> bool:
    return "{action_id" in route


def changes_state(route: str) -> bool:
    return not route.startswith(("GET ", "HEAD "))


# --- the app's routes --------------------------------------------------------------------------------


def app_routes() -> set[str]:
    """Every "METHOD path" the app serves, less the OPTIONS answers Litestar adds to each path (they
    list the allowed methods and nothing else, to anyone)."""
    from app.main import create_app

    routes = set()
    for route in create_app().routes:
        for method, handler in getattr(route, "route_handler_map", {}).items():
            if method == "OPTIONS" and handler[0].handler_name == "options_handler":
                continue
            routes.add(f"{method} {route.path}")
    return routes


def test_every_route_has_a_row_in_the_table(database_url: str):
    routes = app_routes()
    assert routes - set(EXPECTED) == set(), "add a row to EXPECTED for each new route"
    assert set(EXPECTED) - routes == set(), "EXPECTED names routes the app no longer has"


# --- the callers --------------------------------------------------------------------------------------

MODES = ("session", "token")
CSRF_COOKIE, CSRF_HEADER = "mc_csrftoken", "x-csrftoken"
_CSRF_INPUT = re.compile(r'<input[^>]*name="_csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Caller:
    """One caller in one mode: its HTTP client (cookies and headers kept) and its actions."""

    name: str
    http: httpx.Client
    actor: Actor | None
    own: list[str] = field(default_factory=list)
    """Fresh pending actions this caller made, one per request that changes an action."""
    shared_own: str | None = None
    """An action this caller made, for the requests that only read."""


@dataclass
class World:
    callers: dict[tuple[str, str], Caller]
    other: list[str]
    """Fresh pending actions of another maker, one per request that changes an action."""
    shared_other: str


async def _make_people(db: Database) -> dict[str, Actor]:
    roles = {
        "other maker": ("maker",),
        "maker": ("maker",),
        "checker": ("checker",),
        "admin": ("admin",),
        "disabled": ("maker", "checker"),
    }
    people = {}
    for name, held in roles.items():
        username = f"{name.replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
        people[name] = await make_actor(db, *held, username=username)
    ids = [str(actor.user.id) for actor in people.values()]
    async with db.engine.begin() as conn:  # a cheap Argon2id hash, so that logging in is quick
        await conn.execute(
            text("UPDATE users SET password_hash = :hash WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"hash": _CHEAP_HASH, "ids": ids},
        )
    return people


def _in_database(database_url: str, work: Any) -> Any:
    async def run() -> Any:
        db = Database.connect(database_url, pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return run_blocking(run)


def _submit(http: httpx.Client, maker: Actor) -> str:
    body = {"actionType": "create_promotion", "payload": promotion_payload()}
    response = http.post("/api/workflow/actions", json=body, headers=maker.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def _client(server: AppServer, mode: str, actor: Actor | None) -> httpx.Client:
    """A client as a browser or a script of that caller would be: with the CSRF cookie a first page gives,
    and signed in (browser) or carrying the token (script)."""
    http = httpx.Client(base_url=server.url, timeout=15)
    page = http.get("/login")
    if actor is None:
        return http
    if mode == "token":
        http.headers["Authorization"] = f"Bearer {actor.token}"
        return http
    found = _CSRF_INPUT.search(page.text)
    assert found, "the login page carries no CSRF token"
    form = {"username": actor.user.username, "password": PASSWORD, "next": "/", "_csrf_token": found.group(1)}
    signed = http.post("/login", data=form)
    assert signed.status_code == 303, signed.text
    return http


def _reassign(database_url: str, owners: dict[str, list[str]], disabled: Actor) -> None:
    """Make each caller the maker of their actions (a checker's or admin's, as if made while a maker),
    then disable the disabled caller, as any way of disabling would leave them: their session and
    token still on the client."""

    async def work(db: Database) -> None:
        async with db.engine.begin() as conn:
            for owner, action_ids in owners.items():
                await conn.execute(
                    text(
                        "UPDATE workflow_actions SET maker_id = :owner WHERE id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"owner": owner, "ids": action_ids},
                )
            await conn.execute(
                text("UPDATE users SET is_active = false WHERE id = :id"), {"id": disabled.user.id}
            )

    _in_database(database_url, work)


CHANGING_ACTION_ROUTES = [route for route in EXPECTED if takes_an_action(route) and changes_state(route)]


@pytest.fixture(scope="module")
def world(attack_server: AppServer, database_url: str) -> Iterator[World]:
    people = _in_database(database_url, _make_people)
    other_maker = people["other maker"]
    fresh_per_caller = len(CHANGING_ACTION_ROUTES)
    with httpx.Client(base_url=attack_server.url, timeout=15) as http:
        other = [_submit(http, other_maker) for _ in range(fresh_per_caller * len(CALLERS) * len(MODES) + 1)]
        callers, owners = {}, {}
        for mode in MODES:
            for name in CALLERS:
                actor = people.get(name)
                caller = Caller(name, _client(attack_server, mode, actor), actor)
                if actor is not None:
                    made = [_submit(http, other_maker) for _ in range(fresh_per_caller + 1)]
                    caller.shared_own, caller.own = made[0], made[1:]
                    owners.setdefault(str(actor.user.id), []).extend(made)
                callers[(mode, name)] = caller
    _reassign(database_url, owners, people["disabled"])
    yield World(callers=callers, other=other[1:], shared_other=other[0])
    for caller in callers.values():
        caller.http.close()


# --- judging one request -----------------------------------------------------------------------------


def expected_cell(route: str, caller: str, target: str) -> str:
    cell = EXPECTED[route]
    if isinstance(cell, dict):
        cell = cell[caller]
    if isinstance(cell, dict):
        cell = cell[target]
    return cell


def outcome(response: httpx.Response) -> str:
    """The response in the table's words: "login" for a redirect to the login page, else its status."""
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/login?next="):
        return "login"
    return str(response.status_code)


def matches(expected: str, got: str) -> bool:
    return got == expected or (expected == "2xx" and got.startswith("2"))


def send(caller: Caller, route: str, action_id: str) -> str:
    method = route.split(" ", 1)[0]
    call = call_for(route, action_id)
    headers = {}
    csrf = caller.http.cookies.get(CSRF_COOKIE)
    if csrf and changes_state(route):
        headers[CSRF_HEADER] = csrf
    with caller.http.stream(method, call.path, json=call.json, data=call.form, headers=headers) as response:
        # an event stream never ends: its status line is the answer
        return outcome(response)


def action_for(world: World, caller: Caller, route: str, target: str) -> str:
    if not takes_an_action(route):
        return world.shared_other
    fresh = changes_state(route)
    if target == "own":
        return caller.own.pop() if fresh else str(caller.shared_own)
    return world.other.pop() if fresh else world.shared_other


# requests that end or replace the caller's session go last, so that the others see it intact
_LAST = ("POST /login", "POST /logout")
ORDER = sorted(EXPECTED, key=lambda route: (route in _LAST, _LAST.index(route) if route in _LAST else 0))


@pytest.mark.parametrize("mode", MODES)
def test_each_caller_may_do_exactly_what_the_table_allows(world: World, mode: str):
    wrong = []
    for name in CALLERS:
        caller = world.callers[(mode, name)]
        for route in ORDER:
            targets = ("own", "other") if takes_an_action(route) and caller.actor is not None else ("other",)
            for target in targets:
                expected = expected_cell(route, name, target)
                got = send(caller, route, action_for(world, caller, route, target))
                if not matches(expected, got):
                    wrong.append(f"{name:9} {target:5} {route}: expected {expected}, got {got}")
    assert not wrong, f"as a {mode}:\n" + "\n".join(wrong)
