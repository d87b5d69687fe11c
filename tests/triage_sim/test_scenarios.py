"""The scenarios themselves: valid OpenMetrics, sane series, decisive logs, traces, profiles."""

from __future__ import annotations

import json
import math
import re

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from bot.errors import InputError
from bot.models import parse_alertmanager
from bot.sources.otlp import parse_otlp
from bot.sources.pprof.analysis import diff_profiles, frame_totals
from bot.sources.pprof.decode import decode
from bot.sources.pprof.encode import encode
from bot.triage.exporters import ROLES, all_names
from bot.triage.signal_names import NUMBERS, SPAN_CATEGORIES
from bot.triage.steps.span_categories import category_shares
from triage_sim.replay.history import exposition
from triage_sim.service.scenarios import SCENARIOS, Scenario, ScenarioClock, get, names
from triage_sim.service.scenarios.trace_wire import otlp_document

ANCHOR = 1_795_000_000.0
EPOCH = ANCHOR - 3 * 3600
WORKER = re.compile(r"tokio::runtime::scheduler::(multi_thread::worker|current_thread)")
ALLOCATOR = re.compile(r"^(_rjem_|alloc::alloc::|__rust_alloc)")
ALL = pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))


def test_one_scenario_per_playbook() -> None:
    assert names() == ["memory-growth", "tokio-starvation", "cpu-spike", "p99-latency",
                       "async-deadlock", "task-leak", "generic", "pool-renamed"]
    # pool-renamed plays p99-latency again, under metric names only discovery finds.
    assert {s.playbook for s in SCENARIOS.values()} == set(SCENARIOS) - {"pool-renamed"}
    assert get(" Memory-Growth ") is SCENARIOS["memory-growth"]
    with pytest.raises(InputError, match="known: memory-growth"):
        get("memory-leak")


@ALL
def test_expectations_name_known_signals(scenario: Scenario) -> None:
    assert set(scenario.expect.numbers) <= set(NUMBERS)
    assert scenario.expect.span_category in (*SPAN_CATEGORIES, None)
    assert 0 < scenario.start < scenario.alert_at < scenario.history_s


def _families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


@ALL
def test_live_exposition_is_valid_openmetrics(scenario: Scenario) -> None:
    for t in (scenario.start - 600, scenario.start + 600, scenario.history_s + 120):
        text = exposition(scenario, t, EPOCH)
        assert text.endswith("# EOF\n")
        families = list(text_string_to_metric_families(text))  # raises on invalid text
        for family in families:
            if family.type == "histogram":
                _check_histogram(family.samples)


def _check_histogram(samples: list[object]) -> None:
    by_labels: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    counts = {}
    for sample in samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}  # type: ignore[attr-defined]
        key = tuple(sorted(labels.items()))
        if sample.name.endswith("_bucket"):  # type: ignore[attr-defined]
            by_labels.setdefault(key, []).append(
                (float(sample.labels["le"]), sample.value))  # type: ignore[attr-defined]
        elif sample.name.endswith("_count"):  # type: ignore[attr-defined]
            counts[key] = sample.value  # type: ignore[attr-defined]
    for key, buckets in by_labels.items():
        values = [v for _, v in sorted(buckets)]
        assert values == sorted(values), f"buckets not cumulative for {key}"
        assert sorted(buckets)[-1][0] == math.inf and values[-1] == counts[key]


@ALL
def test_counters_only_go_down_at_restarts(scenario: Scenario) -> None:
    times = [60.0 * i for i in range(int(scenario.history_s // 60) + 60)]
    for family in scenario.families:
        if family.type not in ("counter", "unknown", "histogram"):
            continue
        for series in family.series:
            if family.type == "histogram" and not series.sample.endswith(("_bucket", "_count")):
                continue
            previous = None
            for t in times:
                if not series.exists_at(t):
                    continue
                value = series.value(t)
                if previous is not None and value < previous:
                    assert any(t - 60 < r <= t for r in scenario.restarts), (series.sample, t)
                previous = value


@ALL
def test_metric_names_are_the_exporters_names(scenario: Scenario) -> None:
    found = scenario.metric_names & all_names()
    roles = {role for role, candidates in ROLES.items()
             if any(c.name in found for c in candidates)}
    assert {"request_duration_bucket", "requests_total", "cpu_seconds", "rss"} <= roles
    assert "build_info" in roles
    # Every tokio-metrics gauge the walk reads is there when the runtime is instrumented.
    if any(name.startswith("tokio_") for name in scenario.metric_names):
        assert {"tokio_busy_ratio", "tokio_live_tasks"} <= roles


def test_exporters_vary_across_scenarios() -> None:
    used = {c.exporter for s in SCENARIOS.values() for candidates in ROLES.values()
            for c in candidates if c.name in s.metric_names}
    assert {"opentelemetry", "axum-prometheus", "actix-web-prom", "prometheus process collector",
            "cadvisor", "kube-state-metrics", "tokio-metrics"} <= used
    assert "db_client_connection_wait_time_seconds_bucket" in SCENARIOS["p99-latency"].metric_names
    assert "tokio_num_alive_tasks" in SCENARIOS["task-leak"].metric_names


@ALL
def test_catalog_entry_and_alert(scenario: Scenario) -> None:
    entry = scenario.catalog_entry("http://127.0.0.1:9000")
    assert entry.name == scenario.service.name and entry.pprof == "http://127.0.0.1:9000"
    assert entry.prometheus == {"job": entry.name} and entry.loki == {"app": entry.name}
    clock = ScenarioClock(ANCHOR, scenario.history_s)
    group = parse_alertmanager(json.dumps(scenario.alertmanager_payload(clock)).encode())
    [alert] = group.alerts
    assert alert.labels["alertname"] == scenario.alert.alertname
    assert alert.labels["service"] == entry.name
    assert alert.starts_at.timestamp() == clock.unix(scenario.alert_at)


@ALL
def test_decisive_log_lines_start_with_the_anomaly(scenario: Scenario) -> None:
    before = [line.line for line in scenario.logs.lines(0, scenario.start, EPOCH)]
    during = [line.line for line in scenario.logs.lines(scenario.start, scenario.history_s,
                                                         EPOCH)]
    assert before and during
    for text in scenario.expect.log_lines:
        assert not any(text in line for line in before), text
        assert any(text in line for line in during), text


def test_logs_are_the_same_whichever_way_they_are_read() -> None:
    logs = SCENARIOS["p99-latency"].logs
    forward = list(logs.lines(5000, 6500, EPOCH, backward=False))
    backward = list(logs.lines(5000, 6500, EPOCH))
    assert forward == backward[::-1]
    pieces = list(logs.lines(5000, 5800, EPOCH, backward=False)) + list(
        logs.lines(5800, 6500, EPOCH, backward=False))
    assert pieces == forward


@ALL
def test_slow_traces_point_at_the_expected_span_category(scenario: Scenario) -> None:
    model = scenario.traces
    refs = [r for r in model.finished(scenario.start + 600, scenario.history_s,
                                      scenario.history_s) if r.duration >= 0.5][:10]
    for ref in refs:
        assert model.slot_of(ref.trace_id) == ref.slot
    if scenario.expect.span_category is None:
        return
    traces = parse_otlp(otlp_document([model.build(r, EPOCH) for r in refs]))
    shares = category_shares(traces)
    assert max(shares, key=lambda k: shares[k]) == scenario.expect.span_category, shares


def test_trace_ids_encode_their_slot() -> None:
    model = SCENARIOS["memory-growth"].traces
    assert model.slot_of(model.trace_id(123_456)) == 123_456
    other = SCENARIOS["cpu-spike"].traces
    assert other.slot_of(model.trace_id(7)) is None
    assert model.slot_of("not-hex") is None


@ALL
def test_cpu_profile_tops_on_the_decisive_frame(scenario: Scenario) -> None:
    t = scenario.history_s
    profile = decode(encode(scenario.profiles.cpu(t, 10, scenario.cpu(t), EPOCH)))
    totals = frame_totals(profile, "cpu")
    assert totals.total == sum(s.values[1] for s in profile.samples) > 0
    if scenario.expect.cpu_frame is None:
        return
    top = totals.top(1)[0]
    assert top.name == scenario.expect.cpu_frame
    stacks = [s.stack for s in profile.samples if top.name in s.stack]
    on_worker = all(any(WORKER.search(f) for f in s[s.index(top.name):]) for s in stacks)
    assert on_worker == scenario.expect.under_worker


@ALL
def test_heap_profiles_grow_where_the_leak_is(scenario: Scenario) -> None:
    t = scenario.history_s
    base = decode(encode(scenario.profiles.heap(t, EPOCH)))
    new = decode(encode(scenario.profiles.heap(t + 60, EPOCH)))
    diff = diff_profiles(base, new, "inuse_space")
    grown = diff.grown_stacks()
    if scenario.expect.heap_frame is None:
        assert not grown
        return
    first = next(f for f in grown[0].stack if not ALLOCATOR.match(f))
    assert first == scenario.expect.heap_frame
    assert grown[0].delta > 100_000
