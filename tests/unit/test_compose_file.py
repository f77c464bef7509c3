"""compose.yaml read as data, without an engine (``make test-containers`` runs it for real): the one
image everywhere, every service with its own replica count, a NATS cluster whose nodes route to each
other and whose audit stream has a copy on each, secrets only from the environment, and nothing
published beyond the loopback interface."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared import subjects

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
NATS_NODES = sorted(name for name in SERVICES if name.startswith("nats-"))


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_every_process_runs_the_one_image_by_its_command() -> None:
    assert {service["image"] for service in SERVICES.values()} == {
        "${MAVIO_IMAGE:-localhost/mavio-oauth:latest}"
    }
    for name in (*subjects.SERVICES, "gateway"):
        assert SERVICES[name]["command"] == ["python", "-m", f"services.{name}"]


def test_every_container_runs_hardened_as_on_kubernetes() -> None:
    for name, service in SERVICES.items():
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp"], name
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges" in service["security_opt"], name


def test_each_service_has_its_own_replica_count() -> None:
    replicas = {name: SERVICES[name]["deploy"]["replicas"] for name in subjects.SERVICES}
    assert replicas["token"] == 3 and all(n >= 1 for n in replicas.values())
    for name in subjects.SERVICES:
        assert SERVICES[name]["deploy"]["mode"] == "replicated"  # podman-compose reads replicas only then


def test_the_nats_nodes_form_one_cluster_with_jetstream() -> None:
    assert NATS_NODES == ["nats-1", "nats-2", "nats-3"]
    for node in NATS_NODES:
        command = SERVICES[node]["command"]
        assert flag(command, "--name") == node and flag(command, "--cluster_name") == "mavio"
        assert "-js" in command and flag(command, "-sd") == "/data"
        routes = {url.split("//")[1].split(":")[0] for url in flag(command, "--routes").split(",")}
        assert routes == set(NATS_NODES) - {node}
    env = SERVICES["token"]["environment"]
    assert env["MAVIO_NATS_URL"] == ",".join(f"nats://{node}:4222" for node in NATS_NODES)
    assert int(env["MAVIO_AUDIT_REPLICAS"]) == len(NATS_NODES)


def test_redis_keeps_an_append_only_file() -> None:
    command = SERVICES["redis"]["command"]
    assert flag(command, "--appendonly") == "yes" and flag(command, "--dir") == "/data"
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]
    assert ">${MAVIO_REDIS_PASSWORD:?set the Redis password}" in command


def test_secrets_come_only_from_the_environment_and_ports_only_to_loopback() -> None:
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if key.endswith(("PASSWORD", "HMAC_KEY")):
                assert re.fullmatch(r"\$\{MAVIO_\w+:\?[^}]*\}", value), (name, key)
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
