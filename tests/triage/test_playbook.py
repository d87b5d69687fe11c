"""The playbook schema: quantities, templates, PromQL placeholders, and the shipped playbooks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.models import Signals
from bot.triage.exporters import ROLES
from bot.triage.playbook import Matches, Playbook, SignalCondition
from bot.triage.playbook_loader import PlaybookSet, check_playbooks, load_playbooks
from bot.triage.playbook_values import MissingRoleError, parse_quantity, render_promql
from bot.triage.rules import evaluate
from tests.conftest import ROOT

PLAYBOOKS = ROOT / "bot" / "playbooks"
SPECIFIC = ("memory-growth", "tokio-starvation", "cpu-spike", "p99-latency", "async-deadlock",
            "task-leak")


@pytest.fixture(scope="module")
def shipped() -> PlaybookSet:
    return load_playbooks(PLAYBOOKS)


@pytest.mark.parametrize(("text", "expected"), [
    (3, (3.0, None)), (0.5, (0.5, None)), (True, (1.0, None)), ("42", (42.0, None)),
    ("500ms", (0.5, "s")), ("100us", (1e-4, "s")), ("2m", (120.0, "s")), ("1h", (3600.0, "s")),
    ("1.5 s", (1.5, "s")), ("1MiB", (1024.0**2, "bytes")), ("256KiB", (262144.0, "bytes")),
    ("10KiB/s", (10240.0, "bytes/s")), ("90%", (0.9, "ratio")), ("2GiB", (2 * 1024.0**3, "bytes")),
])
def test_quantities_with_units(text: object, expected: tuple[float, str | None]) -> None:
    number, unit = parse_quantity(text)
    assert unit == expected[1]
    assert number == pytest.approx(expected[0])


@pytest.mark.parametrize("text", ["1MB", "fast", "5 parsecs", "10ms/s", "1mib", ""])
def test_bad_quantities_say_which_units_exist(text: str) -> None:
    with pytest.raises(ValueError, match="invalid quantity"):
        parse_quantity(text)


def test_condition_units_must_fit_the_signal() -> None:
    assert SignalCondition.model_validate(
        {"signal": "rss.bytes", "op": ">", "value": "1GiB"}).value == 1024**3
    with pytest.raises(ValidationError, match=r"rss.bytes is in bytes; '500ms' is in s"):
        SignalCondition.model_validate({"signal": "rss.bytes", "op": ">", "value": "500ms"})
    with pytest.raises(ValidationError, match="write a plain number"):
        SignalCondition.model_validate({"signal": "tokio.live_tasks", "op": ">", "value": "5%"})


def test_render_promql_fills_selector_and_roles() -> None:
    roles = {"rss": "process_resident_memory_bytes",
             "requests_total": "http_server_request_duration_seconds_count"}
    assert render_promql("max({rss}{selector})", 'job="checkout"', roles) == \
        'max(process_resident_memory_bytes{job="checkout"})'
    assert render_promql('sum(rate({requests_total}{selector, code=~"5.."}[5m]))',
                         '{job="a",env="prod"}', roles) == \
        'sum(rate(http_server_request_duration_seconds_count{job="a",env="prod", code=~"5.."}[5m]))'


def test_render_promql_names_the_missing_roles() -> None:
    with pytest.raises(MissingRoleError) as caught:
        render_promql("{tokio_live_tasks}{selector} / {rss}{selector}", 'job="x"', {})
    assert caught.value.missing == ("rss", "tokio_live_tasks")
    assert "no metric found for rss, tokio_live_tasks" in str(caught.value)


@pytest.mark.parametrize(("template", "message"), [
    ("{rsss}{selector}", "unknown placeholder {rsss}"),
    ("up", "has no {selector}"),
    ("{rss, a=\"b\"}{selector}", "only {selector, ...} may add matchers"),
])
def test_render_promql_rejects_bad_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        render_promql(template, 'job="x"', {"rss": "m"})


def test_render_promql_refuses_an_empty_selector() -> None:
    with pytest.raises(ValueError, match="empty selector"):
        render_promql("{rss}{selector}", "{}", {"rss": "m"})


def test_alert_matching_is_globs_and_label_rules() -> None:
    matches = Matches.model_validate({
        "alerts": ["*Memory*", "OOMKilled"],
        "labels": [{"name": "severity", "regex": "crit.*|page"}, {"name": "team", "equals": "a"}],
    })
    labels = {"severity": "critical", "team": "a"}
    assert matches.holds("HighMemoryUsage", labels)
    assert matches.holds("highmemoryusage", labels)
    assert not matches.holds("HighLatency", labels)
    assert not matches.holds("OOMKilled", {"severity": "warning-critical", "team": "a"})
    assert not matches.holds("OOMKilled", {"severity": "page"})
    assert matches.holds(None, {**labels, "alertname": "OOMKilled"})
    assert not Matches().holds("Anything", {})


def test_shipped_playbooks_load_with_unique_ids_and_one_generic(shipped: PlaybookSet) -> None:
    assert check_playbooks(PLAYBOOKS) == []
    ids = [p.id for p in shipped.all]
    assert len(ids) == len(set(ids))
    assert set(SPECIFIC) <= set(ids)
    assert shipped.generic.id == "generic"
    assert sorted(ids) == sorted(p.stem for p in PLAYBOOKS.glob("*.yaml"))


@pytest.mark.parametrize("playbook_id", [*SPECIFIC, "generic"])
def test_each_shipped_playbook_explains_and_contributes_to_the_rca(
        shipped: PlaybookSet, playbook_id: str) -> None:
    playbook = shipped.get(playbook_id)
    assert playbook is not None
    assert len(playbook.summary) > 150
    assert playbook.findings
    assert playbook.diagnosis.supports or all(c.supports for c in playbook.causes)
    rca = playbook.rca
    assert rca.root_causes and rca.fixes and rca.prevention and rca.contributing_factors


def test_every_shipped_query_renders_when_its_roles_exist(shipped: PlaybookSet) -> None:
    roles = {role: candidates[0].name for role, candidates in ROLES.items()}
    for playbook in shipped.all:
        for query in playbook.steps.metrics.queries:
            promql = render_promql(query.promql, 'job="checkout"', roles)
            assert '{job="checkout"}' in promql and "{selector" not in promql


@pytest.mark.parametrize(("line", "category"), [
    ("thread 'tokio-runtime-worker' panicked at src/handlers.rs:42:9:", "panic"),
    ("memory allocation of 1073741824 bytes failed", "oom_kill"),
    ("Out of memory: Killed process 4242 (checkout) total-vm:2097152kB", "oom_kill"),
    ("ERROR sqlx: pool timed out while waiting for an open connection", "pool_timeout"),
    ("r2d2: timed out waiting for connection", "pool_timeout"),
    ("Timed out in bb8", "pool_timeout"),
    ("WARN deadlock watchdog: no progress on worker 3 for 30s", "deadlock_watchdog"),
    ("1 deadlocks detected", "deadlock_watchdog"),
    ("request to inventory failed: operation timed out", "timeout"),
    ("upstream error: deadline has elapsed", "timeout"),
    ("Cannot drop a runtime in a context where blocking is not allowed.", "blocking_in_runtime"),
    ("WARN checkout::sessions: session cache above soft limit (120000 entries)",
     "cache_over_limit"),
    ("PoisonError { .. }", "lock_poisoned"),
    ("critical task 'settlement' panicked; exiting so the orchestrator restarts us", "panic"),
    ("quote request exceeded deadline deadline_ms=2000 elapsed_ms=2300", "timeout"),
    ("event loop stalled: tick delayed by 900 ms (threshold 250 ms)", "runtime_stall"),
    ("deadlock watchdog: lock StockTable held for more than 30s by task 12", "deadlock_watchdog"),
    ("acquired connection, but time to acquire exceeded slow threshold", "pool_slow_acquire"),
    ("upstream event stream stalled, spawning reconnect task attempt=3", "task_spawn"),
    ("reconnect task still waiting for upstream waiting_s=300", "task_waiting"),
    ("slow search query took 900 ms (threshold 500 ms)", "slow_operation"),
    ("error trying to connect: tcp connect error: Connection refused (os error 111)",
     "connection_error"),
])
def test_log_patterns_cover_the_usual_lines(shipped: PlaybookSet, line: str,
                                            category: str) -> None:
    patterns = shipped.log_patterns()
    assert any(regex.search(line) for regex in patterns[category])


def test_line_filters_keep_errors_and_panics(shipped: PlaybookSet) -> None:
    filters = [p.steps.logs.line_filter for p in shipped.all if p.steps.logs.line_filter]
    assert filters
    for line_filter in filters:
        assert line_filter.search("thread 'main' panicked at src/main.rs:1:1")
        assert line_filter.search("2026-01-01T00:00:00Z ERROR checkout: request failed")


def test_matching_seeds_by_alert_name(shipped: PlaybookSet) -> None:
    assert [p.id for p, _ in shipped.matching("MemoryGrowth", {})] == ["memory-growth"]
    latency = {p.id for p, _ in shipped.matching("HighLatency", {})}
    assert {"tokio-starvation", "p99-latency", "async-deadlock"} <= latency
    assert [p.id for p, _ in shipped.matching("HighCPUUsage", {})] == ["cpu-spike"]
    assert shipped.matching("SomethingElse", {}) == []
    priors = [prior for _, prior in shipped.matching("HighLatency", {})]
    assert priors == sorted(priors, reverse=True)


def test_frame_patterns_do_not_match_ordinary_async_io(shipped: PlaybookSet) -> None:
    # Non-blocking socket reads go through std::net under mio on every worker, and "string::"
    # contains "ring::": neither is a blocking call or CPU-heavy crypto.
    from bot.models import FrameShare

    signals = Signals(frames=[
        FrameShare(function="<&std::net::tcp::TcpStream as std::io::Read>::read", flat=0.3,
                   cum=0.3, under_worker=True),
        FrameShare(function="alloc::string::String::push_str", flat=0.3, cum=0.3,
                   under_worker=True),
    ])
    starvation = shipped.get("tokio-starvation")
    assert starvation is not None
    assert evaluate(starvation, signals, None) == []


def test_playbook_models_are_frozen() -> None:
    playbook = Playbook.model_validate({"id": "a", "title": "A", "summary": "s"})
    with pytest.raises(ValidationError):
        playbook.title = "B"


def test_data_playbooks_are_valid() -> None:
    data = Path(__file__).parent / "data"
    assert check_playbooks(data) == []
