"""What someone trying the project meets first: the demo users, the README's curl set-up, serve's start."""

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from app.cli import DEMO_USERS
from app.db import describe_database, ensure_database
from app.settings import PROJECT_ROOT, Settings
from tests.cli.test_cli import SCRIPT, find, run_cli
from tests.conftest import _drop_database
from tests.servers import free_port, wait_until_serving


@pytest.mark.anyio
async def test_a_demo_user_holds_both_maker_and_checker(db, database_url):
    both = [username for username, _, roles in DEMO_USERS if {"maker", "checker"} <= set(roles)]
    assert both == ["makerchecker"]
    code, out, err = await run_cli(database_url, "demo")
    assert code == 0, err
    user = await find(db, "makerchecker")
    assert user is not None and user.roles == ["maker", "checker"]
    assert re.search(r"^  makerchecker +\S+ +roles: maker,checker$", out, re.MULTILINE), out


def readme_base_line() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith("BASE=")]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("port", "expected"), [("8123", "http://127.0.0.1:8123"), (None, "http://127.0.0.1:8000")]
)
def test_the_readme_curl_flow_takes_its_base_from_port(port, expected):
    env = {"PATH": os.environ["PATH"]} | ({"PORT": port} if port else {})
    result = subprocess.run(
        ["bash", "-c", f'{readme_base_line()}\necho "$BASE"'],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == expected


def serve_until_ready(env: dict[str, str]) -> str:
    """Start `serve`, return what it printed up to serving, then stop it with SIGTERM."""
    server = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(free_port())],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output = wait_until_serving(server).decode()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    return output


def test_serve_names_the_database_url_it_starts_empty_without_the_password(server_url):
    name = f"mc_first_{uuid.uuid4().hex[:8]}"
    url = ensure_database(server_url, name)
    # the test server trusts local connections, so any password is accepted and must not be shown
    with_password = url.replace("postgresql://postgres:@", "postgresql://postgres:Pa55-not-shown@")
    assert "Pa55-not-shown" in with_password
    env = os.environ | {"DATABASE_URL": with_password, "APP_ENV": "development"}
    try:
        output = serve_until_ready(env)
    finally:
        _drop_database(server_url, name)
    assert "Pa55-not-shown" not in output
    line = next(line for line in output.splitlines() if line.startswith("Empty database"))
    assert f"PostgreSQL database {name} on " in line
    assert "DATABASE_URL" in line
    assert line.index("Empty database") < output.index("Demo users")


def test_the_embedded_database_is_named_by_its_folder(tmp_path: Path):
    # serve prints this line when it finds the database empty, as the DATABASE_URL test above shows
    settings = Settings(database_url=None, data_dir=tmp_path / "data")
    assert describe_database(settings) == f"the embedded PostgreSQL under {tmp_path / 'data'} (DATA_DIR)"
