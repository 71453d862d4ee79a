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
Targets: "own" is an action the caller made (for a checker or an admin: made while they were a maker)
or an API token of theirs; "other" is another maker's. Every request that can change one gets a fresh
one (a pending action, a spare token). Routes about a user (/admin/users/...) name that other maker.
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

from app.accounts.tokens import issue_api_token
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
OWN_MAKER_ONLY = {"own": "200", "other": "403"}
"""Only an action's maker may withdraw it."""
NOT_SENT_BACK = {"own": "409", "other": "403"}
"""Resubmitting one's own pending (not sent back) action is a conflict; another's is refused."""
OWN_ONLY = {"own": "200", "other": "404"}
"""Only one's own API token can be revoked; another's is not found."""

EXPECTED: dict[str, Any] = {
    # public: the same for everyone, whoever they are
    "GET /health": "200",
    "GET /ready": "200",
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
    "GET /history.csv": signed_in("200"),
    "GET /queue": signed_in("200"),
    "GET /queue/events": signed_in("200", anonymous="401", disabled="401"),
    "GET /actions/{action_id:str}": signed_in("200"),
    "GET /actions/new": by_role(
        maker="200", checker="403", admin="200"
    ),  # admins propose people and policy changes
    "POST /actions/new": by_role(maker="200", checker="403", admin="403"),
    "POST /actions/{action_id:str}/review": by_role(maker="403", checker=OWN_REFUSED, admin="403"),
    "POST /queue/bulk-review": by_role(maker="403", checker="200", admin="200"),
    "POST /queue/bulk-review/confirm": by_role(maker="403", checker="200", admin="200"),
    # withdrawing: only the action's own maker, whatever their roles now
    "GET /actions/{action_id:str}/withdraw": signed_in(OWN_MAKER_ONLY),
    "POST /actions/{action_id:str}/withdraw": signed_in({"own": "303", "other": "403"}),
    # resubmitting: only the action's maker, holding the role that proposing its type needs (a
    # checker who made it while a maker may not), and only once it is sent back: the matrix's own
    # actions are pending, so their maker hears 409 (an admin reaches the edit page's 409 first)
    "GET /actions/{action_id:str}/edit": by_role(maker=NOT_SENT_BACK, checker="403", admin=NOT_SENT_BACK),
    "POST /actions/{action_id:str}/resubmit": by_role(maker=NOT_SENT_BACK, checker="403", admin="403"),
    "POST /api/workflow/actions/{action_id:str}/resubmit": by_role(
        maker=NOT_SENT_BACK, checker="403", admin="403", api=True
    ),
    # a maker's own requests and the notices about them
    "GET /my-requests": signed_in("200"),
    "GET /my-requests/notices": signed_in("200"),
    "GET /my-requests/events": signed_in("200", anonymous="401", disabled="401"),
    # policies: everyone may read them; changing one is an update_policy action
    "GET /policies": signed_in("200"),
    # the JSON API
    "GET /api/workflow/action-types": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/workflow/action-types/{name:str}": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/workflow/actions/{action_id:str}/cancel": signed_in(
        {"own": "200", "other": "403"}, anonymous="401", disabled="401"
    ),
    "GET /api/workflow/actions": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/workflow/actions.csv": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/workflow/actions": by_role(maker="201", checker="403", admin="403", api=True),
    "GET /api/workflow/actions/{action_id:str}": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/workflow/actions/{action_id:str}/review": by_role(
        maker="403", checker=OWN_REFUSED, admin="403", api=True
    ),
    # bulk review: checkers and admins (the reviewer roles); each item is then judged as a single review
    # (the matrix's body names no action of anyone's: its one item is refused as not found, inside a 200)
    "POST /api/workflow/actions/bulk-review/precheck": by_role(
        maker="403", checker="200", admin="200", api=True
    ),
    "POST /api/workflow/actions/bulk-review": by_role(maker="403", checker="200", admin="200", api=True),
    # people: admins propose changes to users (under dual control) and see undelivered mail
    "GET /admin/users": by_role(maker="403", checker="403", admin="200"),
    "GET /admin/users/{user_id:str}/change": by_role(maker="403", checker="403", admin="200"),
    "POST /admin/users/{user_id:str}/change": by_role(maker="403", checker="403", admin="200"),
    "POST /admin/users/{user_id:str}/resend-activation": by_role(maker="403", checker="403", admin="422"),
    "GET /admin/outbox": by_role(maker="403", checker="403", admin="200"),
    "GET /api/admin/users": by_role(maker="403", checker="403", admin="200", api=True),
    "GET /api/admin/outbox": by_role(maker="403", checker="403", admin="200", api=True),
    # each user's own API tokens: another's cannot even be found
    "GET /account/tokens": signed_in("200"),
    "POST /account/tokens": signed_in("200"),
    "POST /account/tokens/{token_id:str}/revoke": signed_in(OWN_ONLY),
    "GET /api/account/tokens": signed_in("200", anonymous="401", disabled="401"),
    "POST /api/account/tokens": signed_in("201", anonymous="401", disabled="401"),
    "POST /api/account/tokens/{token_id:str}/revoke": signed_in(OWN_ONLY, anonymous="401", disabled="401"),
    # records: every signed-in user reads them (makers start requests from them, checkers look up what
    # a request changes); changing one is a request like any other
    "GET /records/accounts": signed_in("200"),
    "GET /records/accounts/{account_id:str}": signed_in("200"),
    "GET /records/users": signed_in("200"),
    "GET /records/users/{user_id:str}": signed_in("200"),
    "GET /records/promotions": signed_in("200"),
    "GET /records/promotions/{promotion_id:str}": signed_in("200"),
    "GET /api/records/accounts": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/accounts/{account_id:str}": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/accounts/{account_id:str}/ledger": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/users": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/users/{user_id:str}": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/promotions": signed_in("200", anonymous="401", disabled="401"),
    "GET /api/records/promotions/{promotion_id:str}": signed_in("200", anonymous="401", disabled="401"),
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


PATHS = {
    "GET /static/{file_path:path}": "/static/js/app.js",
    "HEAD /static/{file_path:path}": "/static/js/app.js",
    "GET /schema/{path:str}": "/schema/no-such-page",
    "GET /api/workflow/action-types/{name:str}": "/api/workflow/action-types/create_promotion",
    "GET /activate/{token:str}": "/activate/not-a-token",
    "POST /activate/{token:str}": "/activate/not-a-token",
}
"""Routes whose path placeholders are not an action, a user or a token of the run."""

BODIES: dict[str, Any] = {
    "POST /login": lambda: {"form": {"username": "nobody", "password": "wrong"}},
    "POST /activate/{token:str}": lambda: {"form": {"password": PASSWORD, "confirm": PASSWORD}},
    "POST /actions/new": lambda: {"form": _promotion_form()},
    "POST /actions/{action_id:str}/review": lambda: {"form": {"decision": "approved", "comment": "fine"}},
    "POST /api/workflow/actions": lambda: {
        "json": {"actionType": "create_promotion", "payload": promotion_payload()}
    },
    "POST /api/workflow/actions/{action_id:str}/review": lambda: {"json": {"status": "approved"}},
    "POST /api/workflow/actions/bulk-review/precheck": lambda: {
        "json": {"ids": [str(uuid.uuid4())], "status": "approved"}
    },
    "POST /api/workflow/actions/bulk-review": lambda: {
        "json": {"ids": [str(uuid.uuid4())], "status": "approved"}
    },
    "POST /queue/bulk-review": lambda: {"form": {"ids": str(uuid.uuid4())}},
    "POST /queue/bulk-review/confirm": lambda: {"form": {"ids": str(uuid.uuid4()), "decision": "approved"}},
    "POST /api/workflow/actions/{action_id:str}/resubmit": lambda: {"json": {"payload": promotion_payload()}},
    "POST /actions/{action_id:str}/resubmit": lambda: {"form": _promotion_form()},
    "POST /account/tokens": lambda: {"form": {"name": "matrix"}},
    "POST /api/account/tokens": lambda: {"json": {"name": "matrix"}},
    # the whole form, as the page sends it: the user's roles and status as they are, a new name
    "POST /admin/users/{user_id:str}/change": lambda: {
        "form": {"fullName": f"Renamed {uuid.uuid4().hex[:6]}", "roles": ["maker"], "active": "true"}
    },
}
"""The body a legitimate client sends to each route that takes one."""

_PLACEHOLDER = re.compile(r"\{(\w+):\w+\}")
TARGETED = ("action_id", "token_id")
"""Placeholders naming something of the caller's own ("own") or of another maker's ("other")."""


def call_for(route: str, ids: dict[str, str]) -> Call:
    path = PATHS.get(route) or _PLACEHOLDER.sub(lambda found: ids[found.group(1)], route.split(" ", 1)[1])
    return Call(path, **BODIES.get(route, dict)())


def placeholder(route: str) -> str | None:
    found = _PLACEHOLDER.search(route)
    return found.group(1) if found and route not in PATHS else None


def takes_an_action(route: str) -> bool:
    """Whether the route names something that is the caller's own or another's (an action, a token)."""
    return placeholder(route) in TARGETED


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
    own: dict[str, list[str]] = field(default_factory=dict)
    """By placeholder: fresh things of this caller's own (pending actions, spare tokens), one per
    request that changes one."""
    shared_own: dict[str, str] = field(default_factory=dict)
    """By placeholder: one of the caller's own, for the requests that only read."""


@dataclass
class World:
    callers: dict[tuple[str, str], Caller]
    other: dict[str, list[str]]
    """By placeholder: fresh things of another maker's, one per request that changes one."""
    shared_other: dict[str, str]


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


async def _records_of(db: Database, holder: Actor) -> dict[str, str]:
    """An account of the holder and a promotion, for the records routes' placeholders."""
    async with db.engine.begin() as conn:
        account = await conn.execute(
            text(
                "INSERT INTO accounts (id, user_id, account_number, account_type, balance, currency, status, "
                "created_at, updated_at) VALUES (gen_random_uuid(), :holder, :number, 'checking', 10, "
                "'EUR', 'active', now(), now()) RETURNING id"
            ),
            {"holder": holder.user.id, "number": f"MX{uuid.uuid4().hex[:10].upper()}"},
        )
        promotion = await conn.execute(
            text(
                "INSERT INTO promotions (id, code, name, discount_type, discount_value, start_date, "
                "end_date, is_active, created_at, updated_at) VALUES (gen_random_uuid(), :code, 'Matrix', "
                "'percentage', 5, now(), now() + interval '1 day', true, now(), now()) RETURNING id"
            ),
            {"code": f"MX-{uuid.uuid4().hex[:8].upper()}"},
        )
        return {"account_id": str(account.scalar_one()), "promotion_id": str(promotion.scalar_one())}


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


CHANGING_ACTION_ROUTES = [r for r in EXPECTED if placeholder(r) == "action_id" and changes_state(r)]
CHANGING_TOKEN_ROUTES = [r for r in EXPECTED if placeholder(r) == "token_id" and changes_state(r)]


def _spare_tokens(database_url: str, people: dict[str, Actor], count: dict[str, int]) -> dict[str, list[str]]:
    """Ids of API tokens made for each person (count by person), so that revoking one costs nothing."""

    async def work(db: Database) -> dict[str, list[str]]:
        spare: dict[str, list[str]] = {}
        async with db.sessions() as session, session.begin():
            for name, actor in people.items():
                for _ in range(count.get(name, 0)):
                    await issue_api_token(session=session, user=actor.user, name="spare")
            connection = await session.connection()
            rows = await connection.execute(
                text(
                    "SELECT user_id, id FROM api_tokens"
                    " WHERE name = 'spare' AND user_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": [str(actor.user.id) for actor in people.values()]},
            )
            by_user = {str(actor.user.id): name for name, actor in people.items()}
            for user_id, token_id in rows.all():
                spare.setdefault(by_user[str(user_id)], []).append(str(token_id))
        return spare

    return _in_database(database_url, work)


@pytest.fixture(scope="module")
def world(attack_server: AppServer, database_url: str) -> Iterator[World]:
    people = _in_database(database_url, _make_people)
    other_maker = people["other maker"]
    records = _in_database(database_url, lambda db: _records_of(db, other_maker))
    fresh_per_caller = len(CHANGING_ACTION_ROUTES)
    callers_in_all = len(CALLERS) * len(MODES)
    tokens_per_caller = len(CHANGING_TOKEN_ROUTES) * len(MODES)
    spare = _spare_tokens(
        database_url,
        people,
        {name: tokens_per_caller for name in people} | {"other maker": tokens_per_caller * len(CALLERS) + 1},
    )
    with httpx.Client(base_url=attack_server.url, timeout=15) as http:
        other = [_submit(http, other_maker) for _ in range(fresh_per_caller * callers_in_all + 1)]
        callers, owners = {}, {}
        for mode in MODES:
            for name in CALLERS:
                actor = people.get(name)
                caller = Caller(name, _client(attack_server, mode, actor), actor)
                if actor is not None:
                    made = [_submit(http, other_maker) for _ in range(fresh_per_caller + 1)]
                    caller.shared_own["action_id"], caller.own["action_id"] = made[0], made[1:]
                    owners.setdefault(str(actor.user.id), []).extend(made)
                    tokens = spare[name]
                    caller.shared_own["token_id"] = tokens[0]
                    caller.own["token_id"] = [tokens.pop() for _ in range(len(CHANGING_TOKEN_ROUTES))]
                callers[(mode, name)] = caller
    _reassign(database_url, owners, people["disabled"])
    yield World(
        callers=callers,
        other={"action_id": other[1:], "token_id": spare["other maker"][1:]},
        shared_other={
            "action_id": other[0],
            "token_id": spare["other maker"][0],
            "user_id": str(other_maker.user.id),
            **records,
        },
    )
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


def send(caller: Caller, route: str, ids: dict[str, str]) -> str:
    method = route.split(" ", 1)[0]
    call = call_for(route, ids)
    headers = {}
    csrf = caller.http.cookies.get(CSRF_COOKIE)
    if csrf and changes_state(route):
        headers[CSRF_HEADER] = csrf
    with caller.http.stream(method, call.path, json=call.json, data=call.form, headers=headers) as response:
        # an event stream never ends: its status line is the answer
        return outcome(response)


def ids_for(world: World, caller: Caller, route: str, target: str) -> dict[str, str]:
    """The values of the route's placeholders: fresh ones where the request may change what they name."""
    ids = dict(world.shared_other)
    name = placeholder(route)
    if name not in TARGETED:
        return ids
    fresh = changes_state(route)
    if target == "own":
        ids[name] = caller.own[name].pop() if fresh else caller.shared_own[name]
    else:
        ids[name] = world.other[name].pop() if fresh else world.shared_other[name]
    return ids


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
                got = send(caller, route, ids_for(world, caller, route, target))
                if not matches(expected, got):
                    wrong.append(f"{name:9} {target:5} {route}: expected {expected}, got {got}")
    assert not wrong, f"as a {mode}:\n" + "\n".join(wrong)
