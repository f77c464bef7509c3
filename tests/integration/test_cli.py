"""The ``mavio-oauth`` operator CLI, run as a subprocess against a real Redis (and NATS)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import msgspec
import pytest
from nats.aio.msg import Msg

from services.stack.embedded import free_port
from shared import subjects
from shared.messages.events import Event, PlanChanged
from shared.registry_client import RegistryClient
from tests.support.factories import create_account, create_app, unique_email
from tests.support.polling import eventually
from tests.support.system import System

CLI = str(Path(sys.executable).with_name("mavio-oauth"))


async def run(
    system: System, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    environ = {
        **os.environ,
        **system.servers.env("cli"),  # the operator's own bus user
        **(env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        CLI,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_users_add_creates_an_account_that_can_sign_in(system: System) -> None:
    email = unique_email("cli")
    code, out, err = await run(
        system, "users", "add", email, "--name", "Cli User", "--plan", "pro", "--password-stdin",
        stdin="a long enough password\n",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("created usr_") and email in out
    account = await RegistryClient(system.bus).authenticate(email, "a long enough password")
    assert (account.display_name, account.plan) == ("Cli User", "pro")


async def test_users_add_refuses_a_taken_email_with_a_clear_error(system: System) -> None:
    email = unique_email("cli")
    await create_account(system, email=email)
    code, out, err = await run(
        system, "users", "add", email.upper(), "--name", "Dup", "--plan", "free", "--password-stdin",
        stdin="another password",
    )  # fmt: skip
    assert code == 1 and out == ""
    assert err.strip().endswith("already exists") and err.count("\n") == 1


async def test_users_add_refuses_bad_input(system: System) -> None:
    code, _, err = await run(
        system,
        "users",
        "add",
        "not-an-email",
        "--name",
        "X",
        "--plan",
        "free",
        "--password-stdin",
        stdin="short",
    )
    assert code == 1 and "not an email address" in err and "at least 8 characters" in err
    code, _, err = await run(
        system, "users", "add", unique_email(), "--name", "X", "--plan", "gold", "--password-stdin"
    )
    assert code == 2 and "invalid choice" in err
    code, _, err = await run(system, "users", "add", unique_email(), "--name", "X", "--plan", "free")
    assert code == 1 and "--password-stdin" in err


async def test_set_plan_changes_the_plan_narrows_grants_and_announces_it(system: System) -> None:
    account = await create_account(system, plan="free")
    seen: list[Event] = []

    async def record(msg: Msg) -> None:
        seen.append(msgspec.json.decode(msg.data, type=Event))

    sub = await system.nc.subscribe(subjects.EVENT_PLAN_CHANGED, cb=record)
    await system.nc.flush()
    code, out, err = await run(system, "users", "set-plan", account.email, "business")
    assert code == 0, err
    assert out.strip() == (f"{account.email}: plan free -> business; grants narrowed: 0, grants revoked: 0")
    assert (await RegistryClient(system.bus).get_account(account.id)).plan == "business"

    async def announced() -> list[Event]:
        return seen

    await eventually(announced)
    await sub.unsubscribe()
    assert len(seen) == 1 and isinstance(seen[0], PlanChanged)
    # The CLI recorded the plan first, so the revocation service sees it unchanged.
    assert (seen[0].user_id, seen[0].plan) == (account.id, "business")


async def test_set_plan_with_nats_down_records_the_plan_and_says_grants_were_not_narrowed(
    system: System,
) -> None:
    account = await create_account(system, plan="pro")
    dead_nats = f"nats://127.0.0.1:{free_port()}"
    code, _, err = await run(
        system, "users", "set-plan", account.email, "free", env={"MAVIO_NATS_URL": dead_nats}
    )
    assert code == 1
    assert "plan pro -> free" in err and "NOT narrowed" in err and "again" in err
    assert len(err.strip().splitlines()) == 1
    assert (await RegistryClient(system.bus).get_account(account.id)).plan == "free"
    code, out, err = await run(system, "users", "set-plan", account.email, "free")
    assert code == 0, err
    assert "plan free -> free; grants narrowed" in out


async def test_set_plan_of_an_unknown_email_fails(system: System) -> None:
    code, _, err = await run(system, "users", "set-plan", unique_email("ghost"), "pro")
    assert code == 1 and "no account with the email" in err


async def test_users_list_and_apps_list(system: System) -> None:
    owner = await create_account(system, name="Lister", plan="business")
    app, _ = await create_app(system, owner, name="Listed App")
    code, out, err = await run(system, "users", "list")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["ID", "EMAIL", "PLAN", "NAME"]
    line = next(row for row in out.splitlines() if owner.email in row)
    assert owner.id in line and "business" in line and "Lister" in line
    code, out, err = await run(system, "apps", "list")
    assert code == 0, err
    line = next(row for row in out.splitlines() if app.client_id in row)
    assert "Listed App" in line and owner.email in line


async def test_unreachable_redis_and_bad_configuration_are_clear_errors(system: System) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    code, _, err = await run(system, "users", "list", env={"MAVIO_REDIS_URL": dead})
    assert code == 1 and "cannot reach Redis" in err and "Traceback" not in err
    code, _, err = await run(system, "users", "list", env={"MAVIO_REDIS_URL": "http://nope"})
    assert code == 2 and "MAVIO_REDIS_URL" in err and "Traceback" not in err


async def test_usage_errors_exit_2(system: System) -> None:
    code, _, err = await run(system, "users")
    assert code == 2 and "usage: mavio-oauth" in err
    code, _, _ = await run(system, "nonsense")
    assert code == 2


async def test_make_run_demo_account_is_created_once_and_printed(
    system: System, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.stack.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_account

    env = system.servers.env("cli")
    await asyncio.to_thread(ensure_demo_account, env)
    await asyncio.to_thread(ensure_demo_account, env)
    out = capsys.readouterr().out.splitlines()
    assert "(created)" in out[0] and "(exists)" in out[1]
    assert all(DEMO_EMAIL in line and DEMO_PASSWORD in line for line in out)
    account = await RegistryClient(system.bus).authenticate(DEMO_EMAIL, DEMO_PASSWORD)
    assert account.plan == "business"
    await asyncio.to_thread(
        ensure_demo_account,
        {
            **env,
            "MAVIO_ENV": "production",
            "MAVIO_TOKEN_HMAC_KEY": "k" * 40,
            "MAVIO_KEY_ENCRYPTION_KEY": "e" * 40,
        },
    )
    assert capsys.readouterr().out == ""  # never in production


@pytest.mark.parametrize("command", [("users", "list"), ("status",)])
async def test_run_elsewhere_it_says_where_it_looked_for_a_stack_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """From a folder with no ``.run/``, nothing set: the defaults are out of reach, and the error says
    which stack file was not there (the usual cause: the command was run from another folder)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAVIO_")}
    proc = await asyncio.create_subprocess_exec(
        CLI, *command, cwd=tmp_path, env=environ,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, err.decode()
    service = "Redis" if command[0] == "users" else "NATS"
    assert lines[0].startswith(f"mavio-oauth: error: cannot reach {service} at "), lines
    assert f"no local stack file at {tmp_path.resolve() / '.run' / '*' / 'stack.env'}" in lines[0]
    assert "MAVIO_RUN_DIR" in lines[0] and "Traceback" not in lines[0]


async def test_leak_reporters_list_reads_the_key_file(system: System, tmp_path: Path) -> None:
    from tests.support.leak_reporter import Reporter, write_key_list

    write_key_list(tmp_path / "keys.json", Reporter("scanner-key-1"), Reporter("scanner-key-2"))
    env = {"MAVIO_LEAK_REPORTER_KEYS_FILE": str(tmp_path / "keys.json")}
    code, out, err = await run(system, "leak-reporters", "list", env=env)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split() == ["KEY", "IDENTIFIER", "CURRENT", "KEY", "SHA-256"]
    assert [line.split()[:2] for line in lines[2:]] == [["scanner-key-1", "yes"], ["scanner-key-2", "yes"]]
    code, _, err = await run(system, "leak-reporters", "list")
    assert code == 1 and "MAVIO_LEAK_REPORTER_KEYS_FILE" in err and "Traceback" not in err
    (tmp_path / "keys.json").write_text("{}")
    code, _, err = await run(system, "leak-reporters", "list", env=env)
    assert code == 1 and "not a key list" in err and "Traceback" not in err
