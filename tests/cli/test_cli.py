"""The `maker-checker` console script, run as operators run it: a separate process on DATABASE_URL."""

import os
import re
import sys
from pathlib import Path

import anyio
import pytest
from sqlmodel import func, select, update

from app.accounts.passwords import verify_password
from app.cli import DEMO_USERS
from app.models import AuditEvent, AuditSeal, User
from app.settings import PROJECT_ROOT
from tests.auditing import seal_all, tamper
from tests.factories import make_actor

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "maker-checker"
UUID_LINE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def run_cli(database_url: str, *args: str, stdin: str | None = None):
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "development"}
    result = await anyio.run_process(
        [str(SCRIPT), *args],
        input=stdin.encode() if stdin is not None else None,
        env=env,
        cwd=PROJECT_ROOT,
        check=False,
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def find(db, username: str) -> User | None:
    async with db.sessions() as session:
        return (await session.exec(select(User).where(User.username == username))).first()


async def user_count(db) -> int:
    async with db.sessions() as session:
        return (await session.exec(select(func.count()).select_from(User))).one()


def test_the_console_script_is_installed():
    assert SCRIPT.is_file()


async def test_create_user_prints_its_id_and_is_audited(db, database_url):
    code, out, err = await run_cli(
        database_url, "create-user", "Opal", "--email", "Opal@Example.com", "--roles", "checker, maker"
    )
    assert code == 0, err
    assert UUID_LINE.fullmatch(out.strip()), out
    user = await find(db, "opal")
    assert user is not None
    assert str(user.id) == out.strip()
    assert user.email == "opal@example.com"
    assert user.roles == ["maker", "checker"]
    assert user.password_hash is None
    async with db.sessions() as session:
        events = (
            await session.exec(select(AuditEvent).where(AuditEvent.event_type == "user_created_by_system"))
        ).all()
    assert len(events) == 1
    assert events[0].actor_id is None
    assert events[0].details == {
        "userId": str(user.id),
        "username": "opal",
        "roles": ["maker", "checker"],
        "via": "cli",
    }


async def test_create_user_with_full_name_and_password_from_stdin(db, database_url):
    code, _, err = await run_cli(
        database_url,
        "create-user",
        "pia",
        "--email",
        "pia@example.com",
        "--roles",
        "admin",
        "--full-name",
        "Pia Admin",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert code == 0, err
    user = await find(db, "pia")
    assert user is not None
    assert user.full_name == "Pia Admin"
    assert user.roles == ["admin"]
    assert verify_password(user.password_hash, "correct horse battery")
    assert not verify_password(user.password_hash, "correct horse battery\n")


async def test_a_short_password_is_refused(db, database_url):
    code, out, err = await run_cli(
        database_url,
        "create-user",
        "quin",
        "--email",
        "quin@example.com",
        "--roles",
        "maker",
        "--password-stdin",
        stdin="short\n",
    )
    assert code != 0
    assert "Password refused" in err
    assert out == ""
    assert await find(db, "quin") is None


@pytest.mark.parametrize(
    ("username", "email"),
    [("rex", "other@example.com"), ("other", "REX@test.example"), ("REX", "x@example.com")],
)
async def test_a_duplicate_user_is_refused(db, database_url, username, email):
    await make_actor(db, "maker", username="rex")
    code, out, err = await run_cli(
        database_url, "create-user", username, "--email", email, "--roles", "maker"
    )
    assert code != 0
    assert "already exists" in err
    assert out == ""
    assert await user_count(db) == 1


@pytest.mark.parametrize("roles", ["root", "maker,root", "", " , "])
async def test_bad_roles_are_refused(db, database_url, roles):
    code, out, err = await run_cli(
        database_url, "create-user", "sam", "--email", "sam@example.com", "--roles", roles
    )
    assert code != 0
    assert "Roles must be a comma-separated list of: maker, checker, admin" in err
    assert out == ""
    assert await find(db, "sam") is None


@pytest.mark.parametrize(
    ("username", "email", "full_name", "refusal"),
    [
        ("", "ok@example.com", "Ok", "username refused"),
        ("ab", "ok@example.com", "Ok", "username refused"),
        ("a" * 51, "ok@example.com", "Ok", "username refused"),
        ("bad name!", "ok@example.com", "Ok", "username refused"),
        ("fine", "not-an-email", "Ok", "email refused: Give an email address such as ana@example.com"),
        ("fine", "ok@example.com", "x" * 201, "fullName refused"),
    ],
)
async def test_create_user_applies_the_same_rules_as_the_workflow(
    db, database_url, username, email, full_name, refusal
):
    code, out, err = await run_cli(
        database_url, "create-user", username, "--email", email, "--roles", "maker", "--full-name", full_name
    )
    assert code == 1
    assert refusal in err
    assert "Traceback" not in err
    assert out == ""
    assert await user_count(db) == 0


async def test_create_user_needs_an_email(db, database_url):
    code, _, err = await run_cli(database_url, "create-user", "tia", "--roles", "maker")
    assert code == 2
    assert "--email" in err
    assert await user_count(db) == 0


async def test_create_token_prints_a_token_that_authenticates(client, db, database_url):
    code, _, err = await run_cli(
        database_url, "create-user", "uma", "--email", "uma@example.com", "--roles", "maker"
    )
    assert code == 0, err
    code, out, err = await run_cli(database_url, "create-token", "UMA", "--name", "script")
    assert code == 0, err
    token = out.strip()
    assert token.startswith("mc_")
    assert len(token) > 32

    headers = {"Authorization": f"Bearer {token}"}
    listed = await client.get("/api/workflow/actions", headers=headers)
    assert listed.status_code == 200, listed.text
    submitted = await client.post(
        "/api/workflow/actions",
        json={
            "actionType": "create_user",
            "payload": {"email": "v@example.com", "username": "vic", "fullName": "Vic"},
        },
        headers=headers,
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["data"]["makerId"] == str((await find(db, "uma")).id)


async def test_each_token_is_new_and_stored_hashed(db, database_url):
    await make_actor(db, "maker", username="wes")
    first = (await run_cli(database_url, "create-token", "wes"))[1].strip()
    second = (await run_cli(database_url, "create-token", "wes"))[1].strip()
    assert first != second
    async with db.engine.connect() as conn:
        stored = (await conn.exec_driver_sql("SELECT name, token_hash FROM api_tokens")).all()
    assert sorted(name for name, _ in stored) == ["cli", "cli", "test"]
    assert not {first, second} & {token_hash for _, token_hash in stored}


async def test_create_token_for_an_unknown_user_fails(db, database_url):
    code, out, err = await run_cli(database_url, "create-token", "nobody")
    assert code != 0
    assert "No active user named nobody" in err
    assert out == ""


async def test_create_token_for_a_disabled_user_fails(db, database_url):
    await make_actor(db, "maker", username="zed")
    async with db.sessions() as session, session.begin():
        await session.exec(update(User).where(User.username == "zed").values(is_active=False))
    code, out, err = await run_cli(database_url, "create-token", "zed")
    assert code != 0
    assert "No active user named zed" in err
    assert out == ""
    async with db.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT count(*) FROM api_tokens")).scalar() == 1  # make_actor's


async def test_demo_is_idempotent(db, database_url):
    code, out, err = await run_cli(database_url, "demo")
    assert code == 0, err
    assert await user_count(db) == len(DEMO_USERS)
    for username, _, roles in DEMO_USERS:
        user = await find(db, username)
        assert user is not None
        assert user.roles == roles
        assert user.password_hash is not None
        assert username in out

    code, out, err = await run_cli(database_url, "demo")
    assert code == 0, err
    assert await user_count(db) == len(DEMO_USERS)
    assert out.count("(exists; password unchanged)") == len(DEMO_USERS)


async def test_demo_passwords_printed_are_the_ones_stored(db, database_url):
    code, out, _ = await run_cli(database_url, "demo")
    assert code == 0
    line = next(line for line in out.splitlines() if line.split()[:1] == ["checker"])
    password = line.split()[1]
    user = await find(db, "checker")
    assert verify_password(user.password_hash, password)


async def test_verify_audit_passes_on_an_intact_chain(db, database_url):
    await make_actor(db, "maker", username="xia")
    code, out, err = await run_cli(database_url, "verify-audit")
    assert code == 0, err
    assert out.strip() == "audit chain intact: 0 events sealed, 1 pending"


async def test_seal_audit_seals_and_verify_audit_names_the_head(db, database_url):
    await make_actor(db, "maker", username="zoe")
    code, out, err = await run_cli(database_url, "seal-audit")
    assert (code, out.strip()) == (0, "sealed 1 events"), err

    code, out, err = await run_cli(database_url, "verify-audit")

    assert code == 0, err
    async with db.sessions() as session:
        head = (await session.exec(select(AuditSeal))).one()
    assert out.strip() == f"audit chain intact: 1 events sealed, 0 pending; head seal 1 {head.chain_hash}"


async def test_verify_audit_fails_and_names_each_problem(db, database_url):
    await make_actor(db, "maker", username="yan")
    await seal_all(db)
    async with db.sessions() as session:
        event = (await session.exec(select(AuditEvent))).one()
    await tamper(db, "audit_events", "UPDATE audit_events SET event_type = 'forged'")
    stale_id = await insert_stale_event(db)

    code, out, err = await run_cli(database_url, "verify-audit")

    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "audit chain broken: 2 problems",
        f"  event {event.id} (seal 1) changed",
        f"  event {stale_id} unsealed for more than 60 s",
    ]
    code, _, err = await run_cli(database_url, "verify-audit", "--max-unsealed-age", "3600")
    assert code == 1
    assert "unsealed" not in err


async def insert_stale_event(db) -> int:
    async with db.engine.begin() as conn:
        return (
            await conn.exec_driver_sql(
                "INSERT INTO audit_events (occurred_at, event_type, details) "
                "VALUES (now() - interval '2 minutes', 'stale', '{}') RETURNING id"
            )
        ).scalar_one()


async def test_migrate_at_head_is_a_no_op(db, database_url):
    code, _, err = await run_cli(database_url, "migrate")
    assert code == 0, err
    async with db.engine.connect() as conn:
        versions = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
    assert len(versions) == 1


async def test_production_without_a_secret_key_is_refused(database_url):
    result = await anyio.run_process(
        [str(SCRIPT), "verify-audit"],
        env={**os.environ, "DATABASE_URL": database_url, "APP_ENV": "production", "SECRET_KEY": ""},
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode != 0
    assert b"APP_ENV=production requires DATABASE_URL and SECRET_KEY" in result.stderr


async def test_production_without_public_url_is_refused_with_a_clear_error(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "APP_ENV": "production", "SECRET_KEY": "k" * 64}
    env.pop("PUBLIC_URL", None)
    result = await anyio.run_process([str(SCRIPT), "migrate"], env=env, cwd=PROJECT_ROOT, check=False)
    assert result.returncode != 0
    assert b"Error: APP_ENV=production requires PUBLIC_URL" in result.stderr
    assert b"Traceback" not in result.stderr
