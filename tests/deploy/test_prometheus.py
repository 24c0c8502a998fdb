"""deploy/prometheus: the scrape config and the alert rules, checked and unit-tested by promtool."""

from __future__ import annotations

import re

import pytest
from deploy_support import DEPLOY, load_yaml, run
from promql_names import KNOWN_METRICS, metric_names

PROMETHEUS = DEPLOY / "prometheus"
RULES = load_yaml(PROMETHEUS / "alerts.yml")
ALERTS = [rule for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
ALERT_TESTS = load_yaml(PROMETHEUS / "alerts_test.yml")
# Labels whose values are bounded and set by operators, never by a request's content.
BOUNDED_LABELS = {"model", "model_name", "engine", "instance", "job", "key_id"}


def promtool_ok(promtool: str, *args: str) -> None:
    result = run(promtool, *args)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_prometheus_config_is_valid_and_finds_its_rules(promtool):
    promtool_ok(promtool, "check", "config", "deploy/prometheus/prometheus.yml")


def test_alert_rules_are_valid(promtool):
    promtool_ok(promtool, "check", "rules", "deploy/prometheus/alerts.yml")


def test_alert_unit_tests_pass(promtool):
    promtool_ok(promtool, "test", "rules", "deploy/prometheus/alerts_test.yml")


def test_the_compose_server_is_scraped_and_alerts_are_loaded(compose):
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "reasoning-server"]
    assert job["metrics_path"] == "/metrics"
    assert job["scrape_interval"] == "15s"
    assert job["static_configs"] == [{"targets": ["server:8000"]}]
    assert "server" in compose["services"]


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_every_alert_waits_has_a_severity_and_says_what_is_wrong(alert):
    assert re.fullmatch(r"\d+[smh]", alert.get("for", "")), "an alert without `for:` pages on one bad scrape"
    assert alert["labels"]["severity"] in {"warning", "critical"}
    assert alert["annotations"]["summary"] and alert["annotations"]["description"]


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_annotations_name_only_bounded_labels(alert):
    for text in alert["annotations"].values():
        used = set(re.findall(r"\$labels\.(\w+)", text))
        assert used <= BOUNDED_LABELS, f"{alert['alert']} puts {used - BOUNDED_LABELS} into a notification"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_alert_expressions_use_only_known_metrics(alert):
    names = metric_names(alert["expr"])
    assert names, f"no metric found in {alert['expr']!r}"
    assert names <= KNOWN_METRICS, f"unknown metrics {names - KNOWN_METRICS}"


def _expectations() -> dict[str, list[list]]:
    seen: dict[str, list[list]] = {}
    for case in ALERT_TESTS["tests"]:
        for check in case.get("alert_rule_test", []):
            seen.setdefault(check["alertname"], []).append(check.get("exp_alerts") or [])
    return seen


def test_every_alert_is_unit_tested_firing():
    expectations = _expectations()
    for alert in ALERTS:
        assert any(expectations.get(alert["alert"], [])), f"no test sees {alert['alert']} fire"


@pytest.mark.parametrize("name", ["ReasoningBudgetExhaustionHigh", "ReasoningErrorRatioHigh"])
def test_ratio_alerts_are_unit_tested_quiet_on_healthy_traffic(name):
    assert [] in _expectations()[name], f"no test checks that {name} stays quiet"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('histogram_quantile(0.99, sum by (le, model) (rate(a_bucket{le=~"1.*"}[5m])))', {"a_bucket"}),
        ("sum(rate(a_total[5m])) by (model) / ignoring(x) group_left(y) b", {"a_total", "b"}),
        ("vllm:kv_cache_usage_perc > 0.9", {"vllm:kv_cache_usage_perc"}),
        ('label_replace(up, "dst", "$1", "src", "(.*)")', {"up"}),
        ('rate(x{model=~"$model"}[$__rate_interval]) offset 1h', {"x"}),
        ("1e-3 * typo_metric unless on(job) absent(other)", {"typo_metric", "other"}),
    ],
)
def test_metric_names_are_told_from_functions_labels_and_strings(expr, names):
    assert metric_names(expr) == names
