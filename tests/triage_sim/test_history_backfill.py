"""Scenario history as OpenMetrics, backfilled by promtool into a real Prometheus."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from bot.sources.prometheus import PrometheusClient
from bot.sources.window import TimeWindow
from bot.triage.exporters import all_names
from tests.support.scenario_prometheus import ScenarioPrometheus, scenario_prometheus
from triage_sim.replay.history import history_text, scenario_fingerprint, write_openmetrics
from triage_sim.service.scenarios import SCENARIOS

__all__ = ["scenario_prometheus"]  # the session fixture, shared with test_replay

ANCHOR = 1_795_000_000.0


def test_openmetrics_history_file(tmp_path: Path) -> None:
    scenario = SCENARIOS["cpu-spike"]
    path = tmp_path / "history.om"
    samples = write_openmetrics(scenario, ANCHOR, path, step_s=60)
    lines = path.read_text().splitlines()
    assert lines[-1] == "# EOF"
    assert samples == sum(1 for line in lines if not line.startswith("#"))
    stamps = sorted({float(line.rsplit(" ", 1)[1]) for line in lines if not line.startswith("#")})
    assert stamps[0] == ANCHOR - scenario.history_s and stamps[-1] == ANCHOR
    assert {b - a for a, b in itertools.pairwise(stamps)} == {60.0}
    assert all('job="search",instance="10.42.3.12:9000"' in line for line in lines
               if not line.startswith("#"))


@pytest.mark.parametrize("t", [5390.0, 5400.0])
def test_history_text_parses_as_openmetrics_with_timestamps(t: float) -> None:
    # One instant per parse: prometheus_client's parser compares Timestamp objects by
    # identity and so rejects any histogram with several timestamps (promtool reads them).
    scenario = SCENARIOS["generic"]
    text = "\n".join(history_text(scenario, ANCHOR - scenario.history_s, [t])) + "\n"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [build] = families["app_build_info"].samples
    assert build.labels["version"] == ("2.9.0" if t >= scenario.start else "2.8.0")
    assert build.timestamp is not None
    assert float(str(build.timestamp)) == ANCHOR - scenario.history_s + t


def test_fingerprint_ignores_the_anchor_and_tells_scenarios_apart() -> None:
    prints = {name: scenario_fingerprint(s) for name, s in SCENARIOS.items()}
    assert len(set(prints.values())) == len(prints)
    assert prints["task-leak"] == scenario_fingerprint(SCENARIOS["task-leak"])


@pytest.fixture
async def prom(scenario_prometheus: ScenarioPrometheus) -> AsyncIterator[PrometheusClient]:
    client = PrometheusClient(scenario_prometheus.url, timeout=10, max_concurrency=4)
    try:
        yield client
    finally:
        await client.close()


async def test_backfilled_values_are_the_scenarios(scenario_prometheus: ScenarioPrometheus,
                                                   prom: PrometheusClient) -> None:
    clock = scenario_prometheus.clock("memory-growth")
    rss = SCENARIOS["memory-growth"].families[2].series[0]
    assert rss.sample == "process_resident_memory_bytes"
    window = TimeWindow(clock.at(600), clock.at(10_800))
    [series] = await prom.query_range('process_resident_memory_bytes{job="checkout"}', window,
                                      timedelta(minutes=10))
    assert len(series.samples) == 18
    for sample in series.samples:
        assert sample.value == pytest.approx(rss.value(clock.scenario_time(sample.timestamp)),
                                             abs=1.0)


async def test_rates_and_quantiles_over_the_history(scenario_prometheus: ScenarioPrometheus,
                                                    prom: PrometheusClient) -> None:
    scenario = SCENARIOS["cpu-spike"]
    clock = scenario_prometheus.clock("cpu-spike")
    cpu = 'sum(rate(container_cpu_usage_seconds_total{job="search"}[5m]))'
    p99 = ('histogram_quantile(0.99, sum by (le) '
           '(rate(http_requests_duration_seconds_bucket{job="search"}[5m])))')
    [before] = await prom.query(cpu, clock.at(scenario.start - 1800))
    [during] = await prom.query(cpu, clock.at(scenario.start + 3600))
    assert before.values[0] == pytest.approx(scenario.cpu(scenario.start - 1800), rel=0.1)
    assert during.values[0] == pytest.approx(3.55, rel=0.05)
    [p99_before] = await prom.query(p99, clock.at(scenario.start - 1800))
    [p99_during] = await prom.query(p99, clock.at(scenario.start + 3600))
    assert p99_during.values[0] > 10 * p99_before.values[0]


async def test_exporter_detection_finds_each_scenarios_names(
        scenario_prometheus: ScenarioPrometheus, prom: PrometheusClient) -> None:
    for name, scenario in SCENARIOS.items():
        clock = scenario_prometheus.clock(name)
        window = TimeWindow(clock.at(scenario.start - 1800), clock.at(scenario.history_s))
        found = await prom.existing_metrics(all_names(), scenario.service.prometheus, window)
        assert found == scenario.metric_names & all_names(), name


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_expected_numbers_hold_in_prometheus(scenario_prometheus: ScenarioPrometheus,
                                                   prom: PrometheusClient, name: str) -> None:
    """The directly measurable expectations, computed by Prometheus from the backfill."""
    scenario = SCENARIOS[name]
    at = scenario_prometheus.clock(name).at(scenario.history_s)
    job = f'{{job="{scenario.service.name}"}}'
    rss = ("process_resident_memory_bytes" if "process_resident_memory_bytes"
           in scenario.metric_names else "container_memory_working_set_bytes")
    queries = {
        "rss.slope_bytes_per_s": f"deriv(sum({rss}{job})[30m:1m])",
        "memory.limit_bytes": ("max(kube_pod_container_resource_limits"
                               f'{{job="{scenario.service.name}",resource="memory"}})'),
        "tokio.busy_ratio": f"avg(tokio_busy_ratio{job})",
        "tokio.live_tasks": (f"sum(tokio_live_tasks_count{job}) or "
                             f"sum(tokio_num_alive_tasks{job})"),
        "pool.utilisation": (f'sum(db_client_connection_count{{job="{scenario.service.name}",'
                             f'state="used"}}) / sum(db_client_connection_max{job})'),
        "process.restarts": f"sum(increase(kube_pod_container_status_restarts_total{job}[3h]))",
        "deploy.changed": f"count(count_over_time(app_build_info{job}[3h])) - 1",
    }
    checked = 0
    for signal, (low, high) in scenario.expect.numbers.items():
        if signal not in queries:
            continue
        result = await prom.query(queries[signal], at)
        assert result, f"{signal}: no data"
        value = result[0].values[0]
        assert (low is None or value >= low) and (high is None or value <= high), (signal, value)
        checked += 1
    assert checked or name in ("cpu-spike", "async-deadlock")


async def test_live_scrapes_continue_the_series_with_exemplars(
        scenario_prometheus: ScenarioPrometheus, prom: PrometheusClient) -> None:
    scenario_prometheus.wait_for_scrapes()
    scenario = SCENARIOS["p99-latency"]
    clock = scenario_prometheus.clock("p99-latency")
    recent = TimeWindow(clock.at(scenario.history_s - 600), clock.at(clock.now() + 1))
    found = await prom.exemplars(
        'http_server_request_duration_seconds_bucket{job="orders"}', recent)
    trace_ids = {e.trace_id for s in found for e in s.exemplars}
    assert trace_ids
    assert all(scenario.traces.slot_of(tid or "") is not None for tid in trace_ids)
    [series] = await prom.query_range('process_cpu_seconds_total{job="orders"}', TimeWindow(
        clock.at(scenario.history_s - 120), clock.at(clock.now())), timedelta(seconds=15))
    values = series.values
    assert values == sorted(values)  # backfilled then scraped, one monotonic counter
