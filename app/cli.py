"""The `maker-checker` command: serve, migrate, and the operator's break-glass tools."""

import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.exc import ProgrammingError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database, describe_database, resolve_database_url, run_blocking
from app.errors import DomainError
from app.settings import PROJECT_ROOT, ConfigurationError, Settings, get_settings

T = TypeVar("T")

DEMO_USERS = (
    ("maker", "Mia Maker", ["maker"]),
    ("maker2", "Max Maker", ["maker"]),
    ("checker", "Chen Checker", ["checker"]),
    ("checker2", "Cleo Checker", ["checker"]),
    ("admin", "Ada Admin", ["admin", "checker"]),
    # a policy change is made by one admin and approved by another
    ("admin2", "Abe Admin", ["admin", "checker"]),
    # holds both roles, so the refusal to review one's own request can be seen
    ("makerchecker", "Mo Makerchecker", ["maker", "checker"]),
)


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database.connect(resolve_database_url(get_settings()), pool_size=1)
        try:
            async with db.sessions() as session, session.begin():
                return await work(session)
        finally:
            await db.dispose()

    try:
        return run_blocking(run)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    except ProgrammingError as exc:
        if "UndefinedTable" in type(exc.orig).__name__ or "does not exist" in str(exc.orig):
            raise click.ClickException("The database has no tables yet: run `maker-checker migrate`") from exc
        raise


def run_migrations() -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = resolve_database_url(get_settings())
    command.upgrade(config, "head")


@click.group()
def main() -> None:
    """Maker-checker workflow server."""
    try:
        get_settings().check()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade head)."""
    run_migrations()


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: PORT or 8000).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Number of app processes (default: the number of CPU cores).",
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate, then serve HTTP."""
    import uvicorn

    settings = get_settings()
    run_migrations()
    _announce_an_empty_database(settings)
    # uvicorn re-raises SIGTERM once it has shut down; as SystemExit it lets atexit stop the embedded database
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or os.cpu_count() or 1,
        proxy_headers=True,
        log_level="info",
        # event streams end on the stop signal (app/web/stopping.py); nothing else may hold the stop longer
        timeout_graceful_shutdown=3,
    )


@main.command("create-user")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--roles", required=True, help="Comma-separated: maker,checker,admin")
@click.option("--full-name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(username: str, email: str, roles: str, full_name: str | None, password_stdin: bool) -> None:
    """Create a user directly (bootstrap, break-glass); audited as a system action. Prints the id."""
    from app.accounts.identity import identity_problems, parse_roles
    from app.accounts.passwords import password_problem
    from app.accounts.service import create_user_directly

    if problems := identity_problems(username, email, full_name or None):
        field, message = next(iter(problems.items()))
        raise click.ClickException(f"{field} refused: {message}")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password is not None and (problem := password_problem(password)):
        raise click.ClickException(f"Password refused: {problem}")
    try:
        role_list = parse_roles(roles)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc

    async def work(session: AsyncSession) -> str:
        user = await create_user_directly(
            session=session,
            username=username,
            email=email,
            roles=role_list,
            full_name=full_name,
            password=password,
        )
        return str(user.id)

    click.echo(_in_transaction(work))


@main.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def create_token(username: str, name: str) -> None:
    """Print a new API bearer token for USERNAME (shown once, stored hashed)."""
    from app.accounts.service import find_user
    from app.accounts.tokens import issue_api_token

    async def work(session: AsyncSession) -> str:
        user = await find_user(session=session, username=username)
        if user is None or not user.is_active:
            raise click.ClickException(f"No active user named {username}")
        return await issue_api_token(session=session, user=user, name=name)

    click.echo(_in_transaction(work))


@main.command()
def demo() -> None:
    """Create the demo users that do not exist yet and print their credentials."""
    if get_settings().is_production:
        raise click.ClickException("Demo users are for development: APP_ENV is production")
    _create_demo_users()


@main.command("disable-user")
@click.argument("username")
def disable_user_command(username: str) -> None:
    """Disable a user at once (break-glass): their sessions and API tokens stop working and their pending
    actions are cancelled; audited."""
    from app.accounts.service import disable_user

    async def work(session: AsyncSession) -> int:
        disabled = await disable_user(session=session, username=username, via="cli")
        return len(disabled.cancelled_action_ids)

    cancelled = _in_transaction(work)
    click.echo(f"{username} is disabled; {cancelled} pending action(s) they made were cancelled")


@main.command("verify-audit")
@click.option(
    "--max-unsealed-age",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds an event may stay unsealed (default: AUDIT_MAX_UNSEALED_SECONDS or 60).",
)
def verify_audit(max_unsealed_age: float | None) -> None:
    """Exit 0 when the sealed audit chain is intact and no event stayed unsealed too long."""
    from app.audit import verify_chain

    bound = get_settings().audit_max_unsealed_seconds if max_unsealed_age is None else max_unsealed_age
    report = _in_transaction(lambda session: verify_chain(session, max_unsealed_seconds=bound))
    head = f"; head seal {report.head[0]} {report.head[1]}" if report.head else ""
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} events sealed, {report.pending} pending{head}")
        return
    click.echo(f"audit chain broken: {len(report.problems)} problems", err=True)
    for problem in report.problems:
        click.echo(f"  {problem.message}", err=True)
    sys.exit(1)


@main.command("seal-audit")
@click.option("--follow", is_flag=True, help="Keep sealing (as the elected sealer) until stopped.")
def seal_audit(follow: bool) -> None:
    """Seal the audit events below the safe horizon now, then exit (or keep going with --follow)."""
    from app.audit import run_sealer, seal_pending

    settings = get_settings()
    url = resolve_database_url(settings)

    async def once() -> int:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return await seal_pending(conn)
        finally:
            await conn.close()

    if follow:
        run_blocking(lambda: run_sealer(url, interval=settings.audit_seal_interval or 0.5))
        return
    try:
        sealed = run_blocking(once)
    except Exception as exc:
        if "audit_seals" in str(exc) and "does not exist" in str(exc):
            raise click.ClickException("The database has no tables yet: run `maker-checker migrate`") from exc
        raise
    click.echo(f"sealed {sealed} events")


def _announce_an_empty_database(settings: Settings) -> None:
    """On a database with no users yet, say which database it is; outside production, add demo users."""
    from app.models import User

    async def count(session: AsyncSession) -> int:
        return (await session.exec(select(func.count()).select_from(User))).one()

    if _in_transaction(count) != 0:
        return
    click.echo(f"Empty database: {describe_database(settings)}")
    if settings.is_production:
        click.echo("No users yet: create the first with `maker-checker create-user`")
    else:
        _create_demo_users()


def _create_demo_users() -> None:
    from app.accounts.service import create_user_directly, find_user

    async def work(session: AsyncSession) -> list[tuple[str, str | None, list[str]]]:
        created = []
        for username, full_name, roles in DEMO_USERS:
            if await find_user(session=session, username=username):
                created.append((username, None, roles))
                continue
            password = secrets.token_urlsafe(12)
            await create_user_directly(
                session=session,
                username=username,
                email=f"{username}@demo.example",
                roles=roles,
                full_name=full_name,
                password=password,
                via="demo",
            )
            created.append((username, password, roles))
        return created

    click.echo("Demo users (log in at /login):")
    for username, password, roles in _in_transaction(work):
        shown = password if password else "(exists; password unchanged)"
        click.echo(f"  {username:<12} {shown:<30} roles: {','.join(roles)}")
