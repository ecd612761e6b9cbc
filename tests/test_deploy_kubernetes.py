"""The Kubernetes manifests (deploy/kubernetes/): valid against the API's schemas, offline, and
wired together (probes, Secret, Service, autoscaler) the way the stage 5a guide describes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

MANIFESTS = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
# The oldest Kubernetes minor still widely run that the schemas cover; every field used here
# exists there and in every later version the package ships.
KUBERNETES_VERSION = "1.30.0"


def _documents() -> dict[str, dict[str, Any]]:
    """Every resource in the folder, by kind (one resource of each kind here)."""
    resources: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert document["kind"] not in resources, f"a second {document['kind']} in {path}"
            resources[document["kind"]] = document
    return resources


def _validate(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    resources = _documents()
    assert set(resources) == {"Deployment", "Service", "HorizontalPodAutoscaler", "Secret"}
    for resource in resources.values():
        _validate(resource)


def _serve_container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _broken(deployment: dict[str, Any], how: str) -> dict[str, Any]:
    broken = copy.deepcopy(deployment)
    container = _serve_container(broken)
    if how == "wrong type":
        broken["spec"]["replicas"] = "two"
    elif how == "misspelt field":
        container["readinesProbe"] = container.pop("readinessProbe")
    elif how == "missing required field":
        del broken["spec"]["selector"]
    elif how == "bad value":
        container["ports"][0]["containerPort"] = "http"
    return broken


@pytest.mark.parametrize("how", ["wrong type", "misspelt field", "missing required field",
                                 "bad value"])
def test_a_broken_manifest_fails_the_validator(how: str) -> None:
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(_broken(_documents()["Deployment"], how))


def test_probes_resources_and_the_api_key_secret() -> None:
    resources = _documents()
    container = _serve_container(resources["Deployment"])
    port_names = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in port_names
    args = container["args"]
    assert int(args[args.index("--port") + 1]) in port_names.values()
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    [api_key] = [env for env in container["env"] if env["name"] == "MLCOURSE_API_KEY"]
    reference = api_key["valueFrom"]["secretKeyRef"]
    secret = resources["Secret"]
    assert reference["name"] == secret["metadata"]["name"]
    assert reference["key"] in secret["stringData"]
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert mounts["/bundle"]["readOnly"] is True


def test_the_service_and_the_autoscaler_find_the_deployment() -> None:
    resources = _documents()
    deployment, service = resources["Deployment"], resources["Service"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    named_ports = {port["name"] for port in _serve_container(deployment)["ports"]}
    assert all(port["targetPort"] in named_ports for port in service["spec"]["ports"])
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert resources["HorizontalPodAutoscaler"]["apiVersion"] == "autoscaling/v2"
