"""Bus passwords that nats-server reads from the environment (``password: $VAR``, compose and
Kubernetes): it parses the value as a bare token, so the generator must never start one with ``-`` or a
digit (read as the start of a number)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import nats
import pytest

from services.stack.credentials import environment_password
from services.stack.embedded import die_with_parent, nats_server_path, wait_port
from tests.support.system import unused_port


def test_generated_passwords_are_a_letter_then_letters_and_digits() -> None:
    for _ in range(2000):
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{31}", environment_password())


def serve(tmp: Path, password: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = unused_port()
    conf = tmp / "nats.conf"
    conf.write_text(
        f"authorization {{ users = [ {{user: {json.dumps('app')}, password: $APP_PASSWORD}} ] }}\n"
    )
    log = tmp / "nats.log"
    proc = subprocess.Popen(
        [nats_server_path(), "-a", "127.0.0.1", "-p", str(port), "-c", str(conf)],
        env={**os.environ, "APP_PASSWORD": password},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    return proc, port, log


async def test_nats_server_takes_a_generated_password_from_the_environment(tmp_path: Path) -> None:
    password = environment_password()
    proc, port, _ = serve(tmp_path, password)
    try:
        wait_port(port, proc)
        nc = await nats.connect(f"nats://127.0.0.1:{port}", user="app", password=password)
        await nc.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_password_starting_with_a_dash_would_stop_nats_server(tmp_path: Path) -> None:
    """Why the generator exists: seen on a cold compose start, where a ``secrets.token_urlsafe``
    password began ``-Q`` and every NATS node crash-looped ("Expected a digit but got 'Q'")."""
    proc, port, log = serve(tmp_path, "-Q" + environment_password())
    try:
        with pytest.raises(RuntimeError):
            wait_port(port, proc, timeout=10)
        assert "could not be parsed" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
