"""The launcher's stop order and its kills, on real child processes; the tests' ``Supervisor.stop_all``
keeps the same order."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from services.stack.stopping import Stage, Stopper
from services.stack.supervisor import GATEWAY, Child, Supervisor

# A child that, on SIGTERM, appends its name to a file and exits (or, with "ignore", does nothing).
CHILD = """
import signal, sys, time
name, journal, mode = sys.argv[1:4]
def on_term(*_):
    with open(journal, "a") as out:
        out.write(name + "\\n")
    if mode != "ignore":
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
open(journal + "." + name, "w").close()
while True:
    time.sleep(0.05)
"""


def child(journal: Path, name: str, mode: str = "exit") -> tuple[str, subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, name, str(journal), mode])
    ready = Path(f"{journal}.{name}")
    deadline = time.monotonic() + 30
    while not ready.exists():  # its SIGTERM handler is installed
        assert time.monotonic() < deadline and proc.poll() is None, "the child never started"
        time.sleep(0.02)
    return name, proc


def journal_names(journal: Path) -> list[str]:
    return journal.read_text().split() if journal.exists() else []


def test_stages_stop_in_order_each_after_the_previous_one_exited(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    gateway = child(journal, "gateway")
    services = [child(journal, "token-1"), child(journal, "registry-1")]
    servers = [child(journal, "nats")]
    killed = Stopper(threading.Event()).run(
        [Stage("gateway", [gateway], 30), Stage("services", services, 30), Stage("servers", servers, 30)]
    )
    order = journal_names(journal)
    assert killed == []
    assert order[0] == "gateway" and set(order[1:3]) == {"token-1", "registry-1"} and order[3] == "nats"
    assert all(p.returncode == 0 for _, p in [gateway, *services, *servers])


def test_a_process_over_its_grace_is_killed_and_named(tmp_path: Path) -> None:
    stubborn = child(tmp_path / "journal", "gateway", "ignore")
    after = child(tmp_path / "journal", "token-1")
    stages = [Stage("gateway", [stubborn], 0.5), Stage("services", [after], 30)]
    killed = Stopper(threading.Event()).run(stages)
    assert killed == ["gateway"]
    assert stubborn[1].returncode == -9 and after[1].returncode == 0


def test_hurry_kills_what_is_left_without_waiting_for_the_grace(tmp_path: Path) -> None:
    stubborn = child(tmp_path / "journal", "gateway", "ignore")
    later = child(tmp_path / "journal", "token-1", "ignore")
    hurry = threading.Event()
    stopper = Stopper(hurry)
    done = threading.Event()
    result: list[str] = []

    def stop() -> None:
        result.extend(stopper.run([Stage("gateway", [stubborn], 3600), Stage("services", [later], 3600)]))
        done.set()

    threading.Thread(target=stop, daemon=True).start()
    deadline = time.monotonic() + 30
    while not journal_names(tmp_path / "journal"):
        assert time.monotonic() < deadline, "the gateway was never asked to stop"
        time.sleep(0.02)
    assert not done.is_set()  # waiting on the gateway's (hour-long) grace
    hurry.set()  # a second signal
    assert done.wait(30), "hurry did not end the stop"
    assert result == ["gateway", "token-1"]


def test_supervisor_stop_all_stops_the_gateway_first_then_the_services(tmp_path: Path) -> None:
    """As the launcher (``services.stack.__main__``): started services first, the gateway stops first."""
    journal = tmp_path / "journal"
    sup = Supervisor(env={})
    for name, module in [
        ("token-1", "services.token"),
        ("registry-1", "services.registry"),
        ("gateway", GATEWAY),
    ]:
        sup.children.append(Child(name, module, child(journal, name)[1]))
    assert sup.stop_all() == []
    order = journal_names(journal)
    assert order[0] == "gateway" and set(order[1:]) == {"token-1", "registry-1"}
    assert all(c.proc.returncode == 0 for c in sup.children)
