"""`make test` on a fresh machine installs Debian's Chromium when it is missing, as .ci/run does."""

import os
import shutil
import subprocess
from pathlib import Path

from app.settings import PROJECT_ROOT

MAKE = shutil.which("make") or "/usr/bin/make"


def dry_run_of_make_test(path_dir: Path) -> str:
    """`make -n test` with only path_dir on PATH (so no chromium unless path_dir holds one)."""
    # -n prints the recipes without running them: nothing is installed here
    result = subprocess.run(
        [MAKE, "-n", "test"],
        cwd=PROJECT_ROOT,
        env={"PATH": str(path_dir), "HOME": os.environ.get("HOME", "/root")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def test_make_test_installs_chromium_when_it_is_missing(tmp_path):
    commands = dry_run_of_make_test(tmp_path)
    assert "apt-get update" in commands
    assert "apt-get install -y" in commands and "chromium" in commands
    assert "DEBIAN_FRONTEND=noninteractive" in commands
    # the install comes before the tests run
    assert commands.index("apt-get install") < commands.index("-m pytest")


def test_make_test_installs_nothing_when_chromium_is_there(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    commands = dry_run_of_make_test(tmp_path)
    assert "apt-get" not in commands
    assert "-m pytest" in commands
