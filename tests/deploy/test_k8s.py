"""deploy/k8s: every manifest against the Kubernetes JSON schemas, offline, and the
references between them (selectors, port names, Secret keys, the claim, timings).

Schemas: the ones kubernetes-validate ships, strict (unknown fields are errors).
The ServiceMonitor is a prometheus-operator CRD. Its schema is in no package reachable
here (PyPI, npm, Debian), so its required structure is checked explicitly below.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from deploy_support import DEPLOY, require_module

K8S = DEPLOY / "k8s"
KUBERNETES_VERSION = "1.32"
INSTALL = "pip install kubernetes-validate==1.37.0 (a dev dependency)"


def _load() -> dict[str, dict]:
    files = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    manifests = {}
    for path in files:
        (doc,) = yaml.safe_load_all(path.read_text())
        manifests[doc["kind"]] = doc
    return manifests


MANIFESTS = _load()
DEPLOYMENT = MANIFESTS["Deployment"]
POD = DEPLOYMENT["spec"]["template"]
CONTAINER = POD["spec"]["containers"][0]
ENV = {e["name"]: e for e in CONTAINER["env"]}
SERVICE = MANIFESTS["Service"]


def schema_error(doc: dict) -> str | None:
    kubernetes_validate = require_module("kubernetes_validate", INSTALL)
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return f"{doc['kind']} {'/'.join(map(str, e.path))}: {e.message}"
    return None


@pytest.mark.parametrize("kind", sorted(set(MANIFESTS) - {"ServiceMonitor"}))
def test_manifest_follows_the_kubernetes_schema(kind):
    assert schema_error(MANIFESTS[kind]) is None


def test_the_schema_rejects_a_misspelled_field():
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    assert "readinessProbes" in (schema_error(broken) or "")


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


def test_service_monitor_structure():
    monitor = MANIFESTS["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["name"]
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    (endpoint,) = monitor["spec"]["endpoints"]
    # Field names the CRD defines (a misspelled one is silently dropped by the API server).
    assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout", "scheme"}
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "15s"
    # It must find the Service, by label and by port name.
    assert monitor["spec"]["selector"]["matchLabels"].items() <= SERVICE["metadata"]["labels"].items()
    assert endpoint["port"] in {port["name"] for port in SERVICE["spec"]["ports"]}


def test_service_reaches_the_pods_on_their_named_port():
    assert SERVICE["metadata"]["name"] == "reasoning-server"  # the `job` label alerts.yml matches
    assert SERVICE["spec"]["type"] == "ClusterIP"
    assert SERVICE["spec"]["selector"].items() <= POD["metadata"]["labels"].items()
    (port,) = SERVICE["spec"]["ports"]
    assert (port["name"], port["port"], port["targetPort"]) == ("http", 80, "http")
    assert {"name": "http", "containerPort": 8000} in CONTAINER["ports"]


def test_hpa_and_pdb_select_the_deployment():
    hpa, pdb = MANIFESTS["HorizontalPodAutoscaler"], MANIFESTS["PodDisruptionBudget"]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DEPLOYMENT["metadata"]["name"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == "reasoning_requests_in_flight"
    assert metric["pods"]["target"]["type"] == "AverageValue"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= POD["metadata"]["labels"].items()


def test_deployment_runs_two_gpu_replicas():
    assert DEPLOYMENT["spec"]["replicas"] == 2
    assert CONTAINER["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"cpu", "memory"} <= set(CONTAINER["resources"]["requests"])
    assert ENV["REASONING_TENSOR_PARALLEL_SIZE"]["value"] == "1"


def test_probes_gate_traffic_on_ready_and_liveness_on_health():
    assert CONTAINER["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert CONTAINER["livenessProbe"]["httpGet"]["path"] == "/health"
    assert CONTAINER["startupProbe"]["httpGet"]["path"] == "/health"
    liveness = CONTAINER["livenessProbe"]
    assert liveness["initialDelaySeconds"] + liveness["periodSeconds"] * liveness["failureThreshold"] >= 120


def test_shutdown_drains_before_the_kill():
    sleep = CONTAINER["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and int(sleep[1]) > 0
    grace = int(ENV["REASONING_SHUTDOWN_GRACE_SECONDS"]["value"])
    assert grace == 60
    assert POD["spec"]["terminationGracePeriodSeconds"] > int(sleep[1]) + grace


def test_model_comes_read_only_from_the_models_claim():
    volumes = {v["name"]: v for v in POD["spec"]["volumes"]}
    mounts = {m["name"]: m for m in CONTAINER["volumeMounts"]}
    claim = volumes["models"]["persistentVolumeClaim"]
    assert claim["claimName"] == MANIFESTS["PersistentVolumeClaim"]["metadata"]["name"] == "reasoning-models"
    assert mounts["models"]["readOnly"] and mounts["models"]["mountPath"] == "/models"
    assert ENV["REASONING_MODEL"]["value"].startswith("/models/")


def test_secrets_come_from_the_secret_which_holds_only_placeholders():
    secret = MANIFESTS["Secret"]
    for name in ("REASONING_STORE_URL", "REASONING_TRACE_KEYS"):
        ref = ENV[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    assert secret["stringData"]["REASONING_STORE_URL"].startswith("postgresql://")
    for key_id, _, key in (item.partition(":") for item in secret["stringData"]["REASONING_TRACE_KEYS"].split(",")):
        assert key_id and "REPLACE-ME" in key, "a real key must never be committed"
    assert "REPLACE-ME" in secret["stringData"]["REASONING_STORE_URL"]


def test_pods_run_as_the_images_non_root_user():
    context = POD["spec"]["securityContext"]
    assert context["runAsNonRoot"] and context["runAsUser"] == 10001
    assert CONTAINER["securityContext"]["allowPrivilegeEscalation"] is False
