"""deploy/k8s/ against the Kubernetes JSON schemas (``kubernetes-validate``, offline, strict: an
unknown field fails), and against the code: a Deployment per service chosen by its command, every
workload ready only through a probe (the services' on their bus health subject), a disruption budget
for each, the HPA on token, and secrets only from the Secret under the names scripts/containers/env.sh
makes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared import bus_auth, redis_acl, subjects

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSION = "1.30.0"  # the oldest Kubernetes these manifests promise to work with
IMAGE = "localhost/mavio-oauth:latest"
SECRET_KEYS = {f"MAVIO_NATS_{user.upper()}_PASSWORD" for user in bus_auth.all_users()} | {
    "MAVIO_REDIS_PASSWORD",
    "MAVIO_TOKEN_HMAC_KEY",
    "MAVIO_KEY_ENCRYPTION_KEY",
}


def manifests() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


DOCS = manifests()


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == kind}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def env_of(workload: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry for entry in container(workload).get("env", [])}


@pytest.mark.parametrize(
    ("file", "doc"), DOCS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS]
)
def test_every_manifest_is_valid_against_the_kubernetes_schema(file: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_does_reject_a_wrong_manifest() -> None:
    broken = yaml.safe_load((K8S / "services.yaml").read_text().split("---")[0])
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    broken["spec"]["replicas"] = 3
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def test_a_deployment_per_service_chosen_by_its_command_from_the_one_image() -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == {*subjects.SERVICES, "gateway"}
    for name, deployment in deployments.items():
        assert container(deployment)["command"] == ["python", "-m", f"services.{name}"]
    for workload in [*deployments.values(), *of_kind("StatefulSet").values()]:
        assert container(workload)["image"] == IMAGE
        assert workload["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_every_service_is_ready_only_when_its_health_subject_answers() -> None:
    deployments = of_kind("Deployment")
    for service in subjects.SERVICES:
        probe = container(deployments[service])["readinessProbe"]
        assert probe["exec"]["command"] == ["python", "-m", "shared.probe", service]
        assert probe["timeoutSeconds"] >= 5  # the probe's own connect and answer deadlines are 2 s each
    gateway = container(deployments["gateway"])["readinessProbe"]
    assert gateway["httpGet"]["path"] == "/readyz"
    for name, workload in of_kind("StatefulSet").items():
        assert "readinessProbe" in container(workload), name


def test_each_process_connects_as_its_own_bus_user_with_secrets_from_the_secret() -> None:
    for name, deployment in of_kind("Deployment").items():
        env = env_of(deployment)
        assert env["MAVIO_NATS_USER"]["value"] == name and name in bus_auth.USERS
        password = env["MAVIO_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": "mavio-secrets", "key": f"MAVIO_NATS_{name.upper()}_PASSWORD"}
    for _, doc in DOCS:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            for entry in container(doc).get("env", []):
                assert "value" not in entry or "PASSWORD" not in entry["name"], entry
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "mavio-secrets" and ref["key"] in SECRET_KEYS, ref
    nats = env_of(of_kind("StatefulSet")["nats"])
    assert {f"MAVIO_NATS_{user.upper()}_PASSWORD" for user in bus_auth.all_users()} <= set(nats)


def test_every_workload_has_a_disruption_budget_selecting_its_pods() -> None:
    budgets = of_kind("PodDisruptionBudget")
    workloads = {**of_kind("Deployment"), "nats": of_kind("StatefulSet")["nats"]}
    for name, workload in workloads.items():
        pod_labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets.values() if b["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        ]
        assert len(matching) == 1, name
        (budget,) = matching
        assert budget["spec"].get("maxUnavailable") == 1 or budget["spec"].get("minAvailable") == 1
        assert workload["spec"]["replicas"] >= 2, f"{name}: one replica and a budget blocks every drain"


def test_the_gateway_keeps_serving_while_it_leaves_the_rotation() -> None:
    gateway = of_kind("Deployment")["gateway"]
    pause = container(gateway)["lifecycle"]["preStop"]["exec"]["command"]
    assert (
        pause[0] == "sleep"
        and 1 <= int(pause[1]) < gateway["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    )


def test_token_scales_on_cpu_with_cpu_requests_set() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "token"}
    token = of_kind("Deployment")["token"]
    assert hpa["spec"]["minReplicas"] == token["spec"]["replicas"] == 3
    assert container(token)["resources"]["requests"]["cpu"]


def test_the_servers_get_the_same_users_and_rules_as_everywhere_else() -> None:
    nats_conf = of_kind("ConfigMap")["mavio-nats-config"]["data"]["nats.conf"]
    assert nats_conf == (K8S.parent / "nats.conf").read_text()
    redis = container(of_kind("StatefulSet")["redis"])["command"]
    assert redis[redis.index("mavio") + 1 : redis.index("mavio") + 3] == ["on", ">$(MAVIO_REDIS_PASSWORD)"]
    assert " ".join(redis).endswith(redis_acl.SERVICE_RULES)
    assert ["--user", "default", "off"] == redis[redis.index("default") - 1 : redis.index("default") + 2]
