"""deploy/grafana: the dashboard JSON and its provisioning, checked offline.

Every panel's PromQL is also parsed by promtool (as recording rules), so a syntax error
is caught here rather than as an empty panel.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from deploy_support import DEPLOY, load_yaml, run
from promql_names import KNOWN_METRICS, metric_names

GRAFANA = DEPLOY / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "reasoning-server.json").read_text())
PANELS = DASHBOARD["panels"]
TARGETS = [(panel, target) for panel in PANELS for target in panel.get("targets", [])]
DATASOURCE_UIDS = {"${DS_PROMETHEUS}", "prometheus"}
# What Grafana puts in place of its variables, for promtool's eyes.
GRAFANA_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


def panel_id(panel: dict) -> str:
    return panel["title"]


def test_dashboard_is_a_recent_schema_with_a_stable_uid():
    assert DASHBOARD["uid"] == "reasoning-server"
    assert DASHBOARD["schemaVersion"] >= 36  # datasources by uid, not by name


@pytest.mark.parametrize("panel", PANELS, ids=panel_id)
def test_every_panel_has_a_prometheus_datasource_and_a_query(panel):
    assert panel["datasource"]["type"] == "prometheus"
    assert panel["datasource"]["uid"] in DATASOURCE_UIDS
    assert panel["targets"], "a panel without a query shows nothing"
    for target in panel["targets"]:
        assert target["expr"].strip()
        assert target.get("datasource", panel["datasource"]) == panel["datasource"]


@pytest.mark.parametrize(("panel", "target"), TARGETS, ids=lambda x: x.get("title") or x.get("refId"))
def test_every_query_uses_only_known_metrics(panel, target):
    names = metric_names(target["expr"])
    assert names, f"no metric in {target['expr']!r}"
    assert names <= KNOWN_METRICS, f"{panel['title']}: unknown metrics {names - KNOWN_METRICS}"


def test_the_operators_questions_each_have_a_panel():
    used = set().union(*(metric_names(target["expr"]) for _, target in TARGETS))
    wanted = {
        "reasoning_tokens_total",
        "reasoning_reasoning_tokens_bucket",
        "reasoning_budget_exhausted_total",
        "reasoning_cost_usd_total",
        "reasoning_request_duration_seconds_bucket",
        "reasoning_time_to_first_answer_token_seconds_bucket",
        "reasoning_requests_in_flight",
        "vllm:kv_cache_usage_perc",
        "reasoning_trace_reads_total",
        "reasoning_requests_total",
    }
    assert wanted <= used, f"no panel shows {wanted - used}"
    assert any(panel["type"] == "heatmap" and "reasoning_reasoning_tokens_bucket" in str(panel) for panel in PANELS)


def test_every_query_parses(promtool, tmp_path):
    def substitute(expr: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: GRAFANA_VARIABLES.get(m.group(1), "x"), expr)

    rules = [
        {"record": f"dashboard:panel{panel['id']}:{target['refId']}", "expr": substitute(target["expr"])}
        for panel, target in TARGETS
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_panels_do_not_overlap():
    cells: dict[tuple[int, int], str] = {}
    for panel in PANELS:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']} is wider than the dashboard"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_panels_have_unique_ids():
    ids = [panel["id"] for panel in PANELS]
    assert len(ids) == len(set(ids))


def test_model_variable_lists_the_served_models():
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    model = variables["model"]
    assert model["query"]["query"] == "label_values(reasoning_requests_total, model)"
    assert model["includeAll"] and model["multi"] and model["allValue"] == ".*"


def test_provisioning_points_at_compose_prometheus_and_the_mounted_dashboards(compose):
    (datasource,) = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert "9090:9090" in compose["services"]["prometheus"]["ports"]

    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")["providers"]
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
