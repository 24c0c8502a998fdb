"""docker-compose.yml against the Compose Specification's JSON schema, and its wiring.

No Docker engine here, and no network: the schema is the copy check-jsonschema ships
(check_jsonschema/builtin_schemas/vendor/compose-spec.json, from compose-spec/compose-spec,
Apache-2.0).
"""

from __future__ import annotations

import copy
import json
import re
from importlib import resources

import pytest
from deploy_support import REPO, require_module

SERVICES = ("server", "prometheus", "grafana", "postgres", "server-pg")


@pytest.fixture(scope="module")
def validator():
    require_module("check_jsonschema", "pip install check-jsonschema==0.39.0 (a dev dependency)")
    jsonschema = require_module("jsonschema", "pip install jsonschema")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_compose_file_follows_the_compose_specification(validator, compose):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_the_schema_rejects_a_misspelled_key(validator, compose):
    broken = copy.deepcopy(compose)
    broken["services"]["server"]["healthchek"] = broken["services"]["server"].pop("healthcheck")
    assert list(validator.iter_errors(broken)), "the schema check would pass anything"


def test_services_and_profiles(compose):
    services = compose["services"]
    assert set(SERVICES) <= set(services)
    assert services["postgres"]["profiles"] == ["postgres"]
    assert services["server-pg"]["profiles"] == ["postgres"]
    assert "profiles" not in services["server"]


@pytest.mark.parametrize("name", SERVICES)
def test_images_are_pinned(compose, name):
    image = compose["services"][name]["image"]
    assert re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*", image), f"{image} has no version tag"
    assert not image.endswith(":latest")


@pytest.mark.parametrize("name", ["server", "server-pg"])
def test_servers_build_the_cpu_image_and_wait_for_the_engine(compose, name):
    service = compose["services"][name]
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile.cpu"}
    assert (REPO / service["build"]["dockerfile"]).is_file()
    health = service["healthcheck"]
    assert any("/ready" in part for part in health["test"])
    assert _seconds(health["start_period"]) >= 60, "the engine takes 15-45 s to start on a small machine"
    grace = int(service["environment"]["REASONING_SHUTDOWN_GRACE_SECONDS"])
    assert _seconds(service["stop_grace_period"]) > grace, "SIGKILL before in-flight requests finished"
    assert any(volume.endswith(":/data") for volume in service["volumes"])


def test_server_pg_uses_postgres_once_it_is_healthy(compose):
    services = compose["services"]
    server_pg = services["server-pg"]
    assert server_pg["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    env = services["postgres"]["environment"]
    user, password, db = env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
    assert server_pg["environment"]["REASONING_STORE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_grafana_is_readable_anonymously_and_only_readable(compose):
    env = compose["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def test_bind_mounts_and_named_volumes_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))
