"""Recording Prometheus answers through the proxy, and replaying them for a new anchor."""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli.sim import add_sim_commands
from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.sources.prometheus import PrometheusClient
from bot.sources.series import Series
from bot.sources.window import TimeWindow
from bot.triage.exporters import all_names
from tests.support.scenario_prometheus import (
    ScenarioPrometheus,
    require_prometheus,
    scenario_prometheus,
)
from triage_sim.replay.history import scenario_fingerprint
from triage_sim.replay.prom_replay import (
    RECORDINGS_DIR,
    PromRequest,
    RecordedAnswer,
    Recording,
    RecordingProxy,
    ReplayServer,
    missing_recordings,
    shift_times,
)
from triage_sim.replay.record import record_scenario
from triage_sim.service.scenarios import SCENARIOS

__all__ = ["scenario_prometheus"]  # the session fixture, shared with test_history_backfill

ANCHOR = 1_795_000_000.0
SHIFT = 7 * 86_400.0  # the replay happens a week after the recording
P99 = ('histogram_quantile(0.99, sum by (le) '
       '(rate(http_server_request_duration_seconds_bucket{job="orders"}[5m])))')


def request(path: str = "/api/v1/query_range", query: str = P99, step: str = "60",
            **times: float) -> PromRequest:
    params: dict[str, list[str]] = {"query": [query], "timeout": ["9"]}
    if path.endswith("query_range"):
        params["step"] = [step]
    params.update({k: [str(ANCHOR + v)] for k, v in times.items()})
    return PromRequest.from_params(path, params, ANCHOR, ANCHOR + 30)


def test_requests_are_keyed_relative_to_the_anchor() -> None:
    asked = request(start=-3600, end=12)
    assert asked.times == (("end", 12.0), ("start", -3600.0))
    assert asked.param("timeout") is None and asked.param("step") == "60"
    instant = PromRequest.from_params("/api/v1/query", {"query": ["up"]}, ANCHOR, ANCHOR + 30)
    assert instant.times == (("time", 30.0),)
    assert "end=+12s" in asked.describe() and P99 in asked.describe()


def test_matching_tolerates_what_derives_from_now() -> None:
    recorded = request(start=-3600, end=10)
    assert request(start=-3540, end=70).cost(recorded, 180) == 60
    assert request(start=-3600, end=10, step="66").cost(recorded, 180) == 0  # step +10 %
    assert request(start=-3600, end=10, step="120").cost(recorded, 180) is None
    assert request(start=-3600, end=400).cost(recorded, 180) is None
    assert request(query=P99.replace("orders", "search"), start=-3600, end=10).cost(
        recorded, 180) is None
    slower = P99.replace("[5m]", "[302s]")
    assert request(query=slower, start=-3600, end=10).cost(recorded, 180) == 0
    assert request(query=P99.replace("[5m]", "[10m]"), start=-3600, end=10).cost(
        recorded, 180) is None


def test_shifting_every_kind_of_answer() -> None:
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [100.5, "1"]}]}}
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "b"}, "values": [[100, "1"], [160, "2"]]}]}}
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [100, "3"]}}
    exemplars = {"status": "success", "data": [{"seriesLabels": {}, "exemplars": [
        {"labels": {"trace_id": "ab"}, "value": "1.5", "timestamp": 100.25}]}]}
    assert shift_times("/api/v1/query", vector, 10)["data"]["result"][0]["value"][0] == 110.5
    moved = shift_times("/api/v1/query_range", matrix, -100)["data"]["result"][0]["values"]
    assert moved == [[0, "1"], [60, "2"]]
    assert shift_times("/api/v1/query", scalar, 1)["data"]["result"][0] == 101
    shifted = shift_times("/api/v1/query_exemplars", exemplars, 1)
    assert shifted["data"][0]["exemplars"][0]["timestamp"] == 101.25
    assert matrix["data"]["result"][0]["values"][0][0] == 100  # the original is untouched


def test_recordings_round_trip_byte_for_byte(tmp_path: Path) -> None:
    entry = RecordedAnswer(request(start=-60, end=0), 200, {"status": "success", "data": {
        "resultType": "matrix", "result": []}})
    recording = Recording("p99-latency", "abc", "2.42.0", "2026-11-27T00:00:00Z", [entry])
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    recording.save(first)
    Recording.load(first).save(second)
    assert first.read_bytes() == second.read_bytes()
    assert Recording.load(first).entries == [entry]
    assert missing_recordings([request(start=-60, end=0), request(start=-60, end=500)],
                              recording) == [request(start=-60, end=500).describe()]


def replay_window(recorded_start: float, recorded_end: float) -> TimeWindow:
    return TimeWindow(datetime.fromtimestamp(ANCHOR + SHIFT + recorded_start, UTC),
                      datetime.fromtimestamp(ANCHOR + SHIFT + recorded_end, UTC))


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    entry = RecordedAnswer(request(start=-600, end=0), 200, {"status": "success", "data": {
        "resultType": "matrix", "result": [{"metric": {}, "values": [[-600, "0.1"],
                                                                    [-540, "0.2"]]}]}})
    server = ReplayServer(Recording("p99-latency", "x", entries=[entry]), ANCHOR + SHIFT,
                          wall=lambda: ANCHOR + SHIFT + 30)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_replay_answers_the_prometheus_client(replay: ReplayServer) -> None:
    client = PrometheusClient(replay.base_url, timeout=2, max_concurrency=2)
    try:
        [series] = await client.query_range(P99, replay_window(-600, 0), timedelta(seconds=60))
        assert [(s.timestamp, s.value) for s in series.samples] == [
            (ANCHOR + SHIFT - 600, 0.1), (ANCHOR + SHIFT - 540, 0.2)]
        [later] = await client.query_range(P99, replay_window(-580, 20), timedelta(seconds=60))
        assert later.samples[0].timestamp == ANCHOR + SHIFT - 580  # on the asked grid
        with pytest.raises(QueryRejected, match=r"not recorded: .*triage-bot sim record"):
            await client.query("up")
        assert replay.misses and replay.hits == 2
    finally:
        await client.close()


async def test_replay_knobs(replay: ReplayServer) -> None:
    client = PrometheusClient(replay.base_url, timeout=0.3, max_concurrency=2)
    try:
        replay.slow(2.0)
        with pytest.raises(SourceTimeout):
            await client.query_range(P99, replay_window(-600, 0), timedelta(seconds=60))
        replay.slow(0)
        replay.fail(503)
        with pytest.raises(SourceUnavailable, match="injected failure"):
            await client.query_range(P99, replay_window(-600, 0), timedelta(seconds=60))
    finally:
        await client.close()


async def _fixed_queries(client: PrometheusClient, anchor: float, now: float
                         ) -> list[Any]:
    """What the walk asks, in miniature: instant, range, exemplars, names."""
    def at(offset: float) -> datetime:
        return datetime.fromtimestamp(anchor + offset, UTC)

    scenario = SCENARIOS["p99-latency"]
    history = TimeWindow(at(-scenario.history_s + 60), at(now - anchor))
    recent = TimeWindow(at(-900), at(now - anchor))
    job = {"job": "orders"}
    return [
        await client.query('sum(rate(http_server_request_duration_seconds_count{job="orders"}'
                           "[5m]))", at(now - anchor)),
        await client.query_range(P99, history),
        await client.query_range('sum(db_client_connection_count{job="orders",state="used"})',
                                 recent, timedelta(seconds=30)),
        await client.exemplars('http_server_request_duration_seconds_bucket{job="orders"}',
                               recent),
        await client.existing_metrics(all_names(), job, history),
        await client.metric_names(job, history),
    ]


def _shifted(answer: Any, delta: float) -> Any:
    if isinstance(answer, list) and answer and isinstance(answer[0], Series):
        return [(dict(s.labels), [(round(p.timestamp + delta, 3), p.value) for p in s.samples])
                for s in answer]
    if isinstance(answer, list):
        return [(dict(s.labels), sorted((e.trace_id, e.value, round(e.timestamp + delta, 3))
                                        for e in s.exemplars)) for s in answer]
    return answer


async def test_record_then_replay_against_real_prometheus(
        scenario_prometheus: ScenarioPrometheus, tmp_path: Path) -> None:
    scenario_prometheus.wait_for_scrapes()
    anchor = scenario_prometheus.anchor
    proxy = RecordingProxy(scenario_prometheus.url, anchor)
    await proxy.start()
    client = PrometheusClient(proxy.base_url, timeout=10, max_concurrency=2)
    try:
        now = time.time()
        recorded = await _fixed_queries(client, anchor, now)
    finally:
        await client.close()
        await proxy.stop()
    assert len(proxy.entries) == 6 and all(e.status == 200 for e in proxy.entries)
    assert recorded[3], "exemplars were scraped and recorded"
    path = tmp_path / "p99-latency.json.gz"
    proxy.recording("p99-latency", scenario_fingerprint(SCENARIOS["p99-latency"])).save(path)

    later = anchor + SHIFT
    server = ReplayServer(Recording.load(path), later, wall=lambda: now + SHIFT)
    await server.start()
    client = PrometheusClient(server.base_url, timeout=10, max_concurrency=2)
    try:
        replayed = await _fixed_queries(client, later, now + SHIFT)
    finally:
        await client.close()
        await server.stop()
    assert server.misses == [] and server.hits == 6
    for before, after in zip(recorded, replayed, strict=True):
        assert _shifted(before, SHIFT) == _shifted(after, 0)


async def test_sim_record_command_flow(tmp_path: Path) -> None:
    """``record_scenario`` end to end, with a stand-in for the lead's ``record_walk``."""
    require_prometheus()
    seen: list[tuple[str, str, str]] = []

    async def walk(name: str, prometheus_url: str, service_url: str) -> None:
        seen.append((name, prometheus_url, service_url))
        client = PrometheusClient(prometheus_url, timeout=10, max_concurrency=2)
        try:
            await client.query('sum(rate(container_cpu_usage_seconds_total{job="search"}[5m]))',
                               datetime.now(UTC) - timedelta(minutes=10))
            await client.existing_metrics(all_names(), {"job": "search"})
        finally:
            await client.close()

    path = await record_scenario(SCENARIOS["cpu-spike"], walk, tmp_path, step_s=60)
    recording = Recording.load(path)
    assert seen and seen[0][0] == "cpu-spike"
    assert recording.fingerprint == scenario_fingerprint(SCENARIOS["cpu-spike"])
    assert recording.prometheus.startswith("2.") and len(recording.entries) == 2
    [cpu] = recording.entries[0].body["data"]["result"]
    assert float(cpu["value"][1]) == pytest.approx(3.55, rel=0.1)


def test_sim_cli(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_sim_commands(parser.add_subparsers())
    args = parser.parse_args(["sim", "list"])
    assert args.func(args) == 0
    assert "memory-growth" in capsys.readouterr().out
    args = parser.parse_args(["sim", "record", "--scenario", "nope"])
    assert args.func(args) == 2
    assert "unknown scenario" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(RECORDINGS_DIR.glob("*.json.gz")), ids=lambda p: p.name)
def test_shipped_recordings_match_their_scenarios(path: Path) -> None:
    recording = Recording.load(path)
    scenario = SCENARIOS[recording.scenario]
    assert recording.fingerprint == scenario_fingerprint(scenario), (
        f"{path.name} is stale: run `triage-bot sim record --scenario {scenario.name}`")
