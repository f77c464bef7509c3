"""The set-up scripts (``scripts/ensure-*.sh``) wait for the dpkg lock instead of failing when another
``apt-get`` holds it: every ``apt-get`` they run goes through ``scripts/apt.sh``'s ``apt_get``, which
passes apt's ``DPkg::Lock::Timeout``."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "scripts" / "apt.sh"
ENSURE = sorted(ROOT.glob("scripts/**/ensure-*.sh"))
# A command line that runs apt-get itself (messages that tell a person what to run do not count).
RUNS_APT_GET = re.compile(r"^\s*(?:[A-Z_]+=\S+\s+)*apt-get\s", re.MULTILINE)


def run_helper(tmp_path: Path, *args: str, timeout: str | None = None) -> str:
    """``apt_get`` with a stand-in ``apt-get`` on PATH that prints the arguments it was given."""
    (tmp_path / "apt-get").write_text('#!/bin/sh\necho "$DEBIAN_FRONTEND $*"\n')
    (tmp_path / "apt-get").chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}"}
    if timeout is not None:
        env["APT_LOCK_TIMEOUT"] = timeout
    script = f'. "{HELPER}"; apt_get "$@"'
    done = subprocess.run(
        ["bash", "-c", script, "apt_get", *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_apt_get_waits_for_the_dpkg_lock(tmp_path: Path) -> None:
    assert run_helper(tmp_path, "install", "-y", "wrk") == (
        "noninteractive -o DPkg::Lock::Timeout=600 install -y wrk"
    )


def test_the_wait_can_be_set(tmp_path: Path) -> None:
    assert run_helper(tmp_path, "update", timeout="30") == "noninteractive -o DPkg::Lock::Timeout=30 update"


def test_every_ensure_script_is_checked() -> None:
    names = {p.name for p in ENSURE}
    assert {"ensure-chromium.sh", "ensure-axe.sh", "ensure-wrk.sh", "ensure-engine.sh"} <= names


@pytest.mark.parametrize("script", ENSURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_ensure_scripts_run_apt_get_only_through_the_helper(script: Path) -> None:
    text = script.read_text()
    assert RUNS_APT_GET.findall(text) == []
    if "apt_get " in text:
        assert re.search(r'^\. "\$\(dirname "\$0"\)/(\.\./)?apt\.sh"$', text, re.MULTILINE)
