"""Which ``stack.env`` a client uses: the running stack's, a stopped one's refused, ambiguity named."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import stack_file
from shared.verify_client import bus_options
from shared.verify_client.connection import QUIET_CALLBACKS


def sleeper(*args: str) -> subprocess.Popen[bytes]:
    """A sleeping process, returned once its command line is readable (empty while it is set up)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *args])
    deadline = time.monotonic() + 30
    while not Path(f"/proc/{proc.pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the process never started"
        time.sleep(0.01)
    return proc


@pytest.fixture
def launcher_pid() -> Iterator[int]:
    """A live process whose command line names the launcher module, as ``make run``'s does."""
    proc = sleeper("services.stack")
    yield proc.pid
    proc.kill()
    proc.wait()


def gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write(root: Path, port: int, pid: int, **values: str) -> Path:
    path = root / str(port) / stack_file.FILE_NAME
    path.parent.mkdir(parents=True)
    base = {
        stack_file.PID: str(pid),
        "MAVIO_NATS_URL": f"nats://127.0.0.1:{port + 1}",
        "MAVIO_REDIS_URL": f"redis://127.0.0.1:{port + 2}/0",
        "MAVIO_NATS_USER": "cli",
        "MAVIO_NATS_PASSWORD": "cli-secret",
    }
    path.write_text(stack_file.render({**base, **values}, comment="test"))
    return path


def write_resource(root: Path, port: int) -> Path:
    """The resource servers' file beside a stack file, as ``make run`` writes it."""
    path = root / str(port) / stack_file.RESOURCE_FILE_NAME
    values = {
        "MAVIO_NATS_URL": f"nats://127.0.0.1:{port + 1}",
        "MAVIO_NATS_USER": "resource",
        "MAVIO_NATS_PASSWORD": "resource-secret",
    }
    path.write_text(stack_file.render(values))
    return path


def test_no_file_means_no_stack(tmp_path: Path) -> None:
    assert stack_file.find({"MAVIO_RUN_DIR": str(tmp_path)}) is None
    env, found = stack_file.client_environ({"MAVIO_RUN_DIR": str(tmp_path)})
    assert found is None and "MAVIO_NATS_URL" not in env


def test_the_one_running_stack_is_found_and_fills_the_client_environment(
    tmp_path: Path, launcher_pid: int
) -> None:
    write(tmp_path, 8080, gone_pid())
    path = write(tmp_path, 8081, launcher_pid)
    env, found = stack_file.client_environ({"MAVIO_RUN_DIR": str(tmp_path), "MAVIO_LOG_LEVEL": "debug"})
    assert found is not None and found.path == path
    assert env["MAVIO_NATS_URL"] == "nats://127.0.0.1:8082" and env["MAVIO_NATS_USER"] == "cli"
    assert env["MAVIO_LOG_LEVEL"] == "debug"
    assert stack_file.PID not in env


def test_a_set_url_wins_over_any_file(tmp_path: Path, launcher_pid: int) -> None:
    write(tmp_path, 8080, launcher_pid)
    given = {"MAVIO_RUN_DIR": str(tmp_path), "MAVIO_REDIS_URL": "redis://elsewhere:6379/0"}
    env, found = stack_file.client_environ(given)
    assert found is None and env == given


def test_a_stopped_stack_is_refused_naming_its_file(tmp_path: Path) -> None:
    write(tmp_path, 8080, gone_pid())
    with pytest.raises(stack_file.StackNotRunning, match=r"8080/stack.env is not running .*make run"):
        stack_file.find({"MAVIO_RUN_DIR": str(tmp_path)})


def test_a_recycled_pid_is_not_a_running_stack(tmp_path: Path) -> None:
    other = sleeper()
    try:
        write(tmp_path, 8080, other.pid)
        with pytest.raises(stack_file.StackNotRunning, match="is not running"):
            stack_file.find({"MAVIO_RUN_DIR": str(tmp_path)})
    finally:
        other.kill()
        other.wait()


def test_several_running_stacks_need_a_port(tmp_path: Path, launcher_pid: int) -> None:
    write(tmp_path, 8080, launcher_pid)
    chosen = write(tmp_path, 8081, launcher_pid)
    with pytest.raises(stack_file.StackNotRunning, match=r"8080, 8081.*MAVIO_HTTP_PORT"):
        stack_file.find({"MAVIO_RUN_DIR": str(tmp_path)})
    found = stack_file.find({"MAVIO_RUN_DIR": str(tmp_path), "MAVIO_HTTP_PORT": "8081"})
    assert found is not None and found.path == chosen


def test_bus_options_for_a_resource_server(tmp_path: Path, launcher_pid: int) -> None:
    write(tmp_path, 8080, launcher_pid)
    write_resource(tmp_path, 8080)
    assert bus_options({"MAVIO_RUN_DIR": str(tmp_path)}) == {
        "servers": ["nats://127.0.0.1:8081"],
        "user": "resource",
        "password": "resource-secret",
        "inbox_prefix": "_INBOX.resource",
        **QUIET_CALLBACKS,
    }
    given = {"MAVIO_NATS_URL": "nats://a:4222,nats://b:4222", "MAVIO_NATS_PASSWORD": "pw"}
    assert bus_options(given) == {
        "servers": ["nats://a:4222", "nats://b:4222"],
        "user": "resource",
        "password": "pw",
        "inbox_prefix": "_INBOX.resource",
        **QUIET_CALLBACKS,
    }
    anonymous = bus_options({"MAVIO_NATS_URL": "nats://a:4222"})
    assert anonymous == {"servers": ["nats://a:4222"], **QUIET_CALLBACKS}
    with pytest.raises(stack_file.StackNotRunning, match="MAVIO_NATS_URL is unset"):
        bus_options({"MAVIO_RUN_DIR": str(tmp_path / "nothing")})


def test_bus_options_never_take_the_operators_credentials(tmp_path: Path, launcher_pid: int) -> None:
    """``stack.env`` is the operator's: without a ``resource.env`` beside it (a stack started before
    there was one), a resource server is told to restart the stack, not handed the CLI's identity."""
    write(tmp_path, 8080, launcher_pid, MAVIO_NATS_RESOURCE_PASSWORD="resource-secret")
    with pytest.raises(stack_file.StackNotRunning, match=r"8080/stack.env has no resource.env .*make run"):
        bus_options({"MAVIO_RUN_DIR": str(tmp_path)})
    write_resource(tmp_path, 8080)
    options = bus_options({"MAVIO_RUN_DIR": str(tmp_path)})
    assert options["user"] == "resource" and options["password"] == "resource-secret"
    assert "cli-secret" not in options.values()
