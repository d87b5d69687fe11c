"""The bot watched like any service: its alert rules (promtool check and unit tests), their
route to the pager, its Grafana dashboard, and Grafana's provisioning in docker-compose.yml.

Every metric the dashboard and the rules ask for is one the bot exports (read from
bot.observability's registry) or one of the names other work adds (ADDED); every label they
group by is one of those metrics' labels, so a renamed metric or label fails here, not on a
blank panel in production.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Metric

from bot.observability import BotMetrics
from tests.conftest import ROOT
from tests.packaging import compose, tools

DEPLOY = ROOT / "deploy"
PACKAGING = Path(__file__).parent
RULES = DEPLOY / "prometheus" / "rules" / "triage-bot.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "triage-bot.json"
#: Metrics being added by other work (the outbox, step outcomes): {name: labels}.
ADDED = {"triage_outbox_depth": set(), "triage_steps_total": {"step", "outcome"}}
#: Labels Prometheus adds to every series, and the histogram bucket label.
TARGET_LABELS = {"job", "instance", "le"}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_BY = re.compile(r"\bby\s*\(([^)]*)\)")


def _series(family: Metric) -> list[str]:
    """The series names a family exposes (prometheus_client strips ``_total`` from
    counters' family names; histograms expose three series)."""
    if family.type == "counter":
        return [f"{family.name}_total"]
    if family.type == "histogram":
        return [f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")]
    return [family.name]


def exported() -> dict[str, set[str]]:
    """{series name: label names} of everything the bot serves on /metrics, plus ADDED."""
    metrics = BotMetrics()
    found: dict[str, set[str]] = {"up": set()}
    for collector in list(metrics.registry._collector_to_names):
        labels = set(getattr(collector, "_labelnames", ()))
        for family in collector.describe():
            for name in _series(family):
                found[name] = labels
    found.update(ADDED)
    return found


def check_expression(expr: str, known: dict[str, set[str]]) -> list[str]:
    """Problems of one PromQL expression: unknown triage metrics, unknown grouping labels."""
    used = {word for word in _NAME.findall(expr) if word.startswith("triage_") or word == "up"}
    problems = [f"{name}: not exported by the bot" for name in used - set(known)]
    if not used:
        problems.append(f"no metric of the bot in {expr!r}")
    labels = set().union(*(known.get(name, set()) for name in used)) | TARGET_LABELS
    for group in _BY.findall(expr):
        for label in filter(None, (word.strip() for word in group.split(","))):
            if label not in labels:
                problems.append(f"by ({label}): no metric in {expr!r} has that label")
    return problems


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        rules.extend(group["rules"])
    return rules


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _targets(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


# -- what the exports are -------------------------------------------------------------------

def test_exported_names_are_read_from_the_bot() -> None:
    known = exported()
    assert known["triage_slack_ack_seconds_bucket"] == {"kind"}
    assert known["triage_slack_api_errors_total"] == {"method", "error"}
    assert known["triage_tasks_in_flight"] == set()


def test_the_expression_check_catches_unknown_names_and_labels() -> None:
    known = exported()
    assert check_expression("rate(triage_slack_api_calls_total[5m])", known) == []
    assert check_expression("rate(triage_slack_calls_total[5m])", known)
    assert check_expression("sum by (channel) (rate(triage_slack_api_calls_total[5m]))", known)


# -- alert rules ----------------------------------------------------------------------------

def test_bot_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = tools.binary("promtool", "apt-get install prometheus")
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([promtool, "test", "rules", "triage_bot_rules_test.yml"],
                          cwd=PACKAGING, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_bot_rules_cover_the_failures_that_matter_and_use_real_metrics() -> None:
    rules = {r["alert"]: r for r in _rules()}
    assert {"TriageBotDown", "TriageBotSlowAcks", "TriageBotSlackErrors",
            "TriageBotOutboxNotDraining"} <= set(rules)
    known = exported()
    problems = [f"{name}: {p}" for name, rule in rules.items()
                for p in check_expression(rule["expr"], known)]
    assert not problems, "\n".join(problems)
    # Every rule is unit-tested, firing and silent.
    tests = yaml.safe_load((PACKAGING / "triage_bot_rules_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for name in rules:
        assert any(c["alertname"] == name and c["exp_alerts"] for c in cases), name
        assert any(c["alertname"] == name and not c["exp_alerts"] for c in cases), name


def test_bot_alerts_go_to_the_pager_not_to_the_bot() -> None:
    amtool = tools.binary("amtool", "apt-get install prometheus-alertmanager")
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    for rule in _rules():
        labels = {"alertname": rule["alert"], **rule["labels"]}
        assert labels["component"] == "triage-bot", rule["alert"]
        done = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}",
                               *(f"{k}={v}" for k, v in labels.items())],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.stdout.strip() == "ops-pager", rule["alert"] + done.stdout + done.stderr


# -- dashboard ------------------------------------------------------------------------------

def test_dashboard_asks_only_for_metrics_the_bot_exports() -> None:
    known = exported()
    problems = [p for expr in _targets(_dashboard()) for p in check_expression(expr, known)]
    assert not problems, "\n".join(problems)


def test_dashboard_shows_what_an_on_call_engineer_looks_at() -> None:
    exprs = " ".join(_targets(_dashboard()))
    for wanted in ("triage_slack_ack_seconds_bucket", "triage_event_loop_lag_seconds",
                   "triage_alert_notifications_total", "triage_slack_api_calls_total",
                   "triage_slack_api_errors_total", "triage_tasks_in_flight",
                   "triage_outbox_depth", "triage_steps_total"):
        assert wanted in exprs, f"no panel shows {wanted}"
    assert re.search(r"by \(kind, le\) \(rate\(triage_slack_ack_seconds_bucket", exprs)
    assert re.search(r"by \(outcome\) \(increase\(triage_alert_notifications_total", exprs)


def test_dashboard_is_well_formed_for_grafana() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] == "triage-bot"
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    [variable] = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == f"${{{variable['name']}}}", panel["title"]
        assert panel["targets"] and panel.get("description"), panel["title"]


# -- Grafana in docker-compose.yml ----------------------------------------------------------

def test_compose_provisions_grafana_with_the_dashboard() -> None:
    stack = compose.load(ROOT / "docker-compose.yml")
    grafana = stack["services"]["grafana"]
    mounts = {m.target: m for m in compose.mounts(grafana)}
    provisioning = mounts["/etc/grafana/provisioning"]
    assert provisioning.read_only and provisioning.source == "./deploy/grafana/provisioning"
    providers = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards"
                                / "triage-bot.yml").read_text())["providers"]
    [provider] = providers
    dashboards = mounts[provider["options"]["path"]]
    assert dashboards.read_only
    assert (ROOT / dashboards.source / DASHBOARD.name).samefile(DASHBOARD)
    [source] = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources"
                               / "prometheus.yml").read_text())["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and "prometheus" in stack["services"]
    assert compose.depends_on(grafana) == {"prometheus": "service_healthy"}
    assert grafana["read_only"] is True and grafana["cap_drop"] == ["ALL"]
    assert all(port.startswith("127.0.0.1:") for port in grafana["ports"])
    home = compose.environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/{DASHBOARD.name}"


@pytest.mark.parametrize("path", sorted((DEPLOY / "grafana").rglob("*.yml")), ids=str)
def test_grafana_provisioning_files_are_version_1(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["apiVersion"] == 1
