"""The logs step against a local fake Loki, through the real Sources and LokiClient."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import BackendsConfig, ServiceConfig
from bot.errors import QueryRejected, SourceTimeout, SourceUnavailable
from bot.models import Severity
from bot.sources.http import new_session
from bot.sources.loki import parse_streams_answer
from bot.sources.pprof.client import PprofClient
from bot.sources.registry import Sources
from bot.sources.window import TimeWindow
from bot.triage.steps import logs
from bot.triage.steps.base import StepContext, StepDeps
from tests.sources.conftest import FakeBackend, Reply, ours_bytes

SHARED_REAL = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "real"
T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=30))
SERVICE = ServiceConfig(name="checkout", loki={"app": "checkout", "env": "prod"})
QUERY_RANGE = "/loki/api/v1/query_range"
PATTERNS = {
    "panic": [re.compile(r"panicked at")],
    "pool_timeout": [re.compile(r"pool timed out"), re.compile(r"timed out waiting for conn")],
    "deadlock": [re.compile(r"deadlock detected")],
}


@dataclass
class FakeLogsStep:
    line_filter: re.Pattern[str] | None = None


@dataclass
class FakeSteps:
    logs: FakeLogsStep = field(default_factory=FakeLogsStep)


@dataclass
class FakePlaybook:
    id: str
    steps: FakeSteps = field(default_factory=FakeSteps)


@dataclass
class FakePlaybooks:
    patterns: dict[str, list[re.Pattern[str]]]

    def log_patterns(self) -> dict[str, list[re.Pattern[str]]]:
        return self.patterns

    def get(self, playbook_id: str) -> None:
        return None


def context(service: ServiceConfig = SERVICE, leader: FakePlaybook | None = None,
            patterns: dict[str, list[re.Pattern[str]]] | None = None,
            window: TimeWindow = WINDOW) -> StepContext:
    return StepContext(incident_id="inc-1", service=service, now=window.end, window=window,
                       playbooks=FakePlaybooks(PATTERNS if patterns is None else patterns),  # type: ignore[arg-type]
                       leader=leader)  # type: ignore[arg-type]


def ns(minute: float, second: float = 0) -> str:
    moment = T0 + timedelta(minutes=minute, seconds=second)
    return str(int(moment.timestamp()) * 1_000_000_000)


def streams(*items: tuple[dict[str, str], list[tuple[str, str]]]) -> str:
    result = [{"stream": labels, "values": [list(v) for v in values]} for labels, values in items]
    return json.dumps({"status": "success",
                       "data": {"resultType": "streams", "result": result, "stats": {}}})


LONG = "pool timed out while waiting for an open connection; " + "x" * 500
PANIC = ("thread 'tokio-runtime-worker' panicked at src/handlers/checkout.rs:42:17:\n"
         "called `Option::unwrap()` on a `None` value")
INCIDENT_LOGS = streams(
    ({"app": "checkout", "env": "prod", "level": "error"}, [
        (ns(3), PANIC), (ns(3, 20), PANIC), (ns(10), PANIC),
        (ns(5), "pool timed out while waiting for an open connection"),
        (ns(5, 30), "pool timed out while waiting for an open connection"),
        (ns(6), "sqlx: timed out waiting for connection from pool"),
        (ns(7), "pool timed out while waiting for an open connection"),
        (ns(7, 10), LONG),
        (ns(12), "pool timed out while waiting for an open connection"),
    ]),
    ({"app": "checkout", "env": "prod", "level": "info"},
     [(ns(m), f"GET /cart 200 {m}ms") for m in range(20)]),
    ({"app": "checkout", "env": "prod"}, [
        (ns(8), '{"level":"ERROR","target":"checkout::payments","msg":"upstream reset"}'),
        (ns(9), "2025-11-27T10:39:00.000Z ERROR checkout::payments: card declined"),
        (ns(9, 5), "2025-11-27T10:39:05.000Z  WARN checkout::payments: retrying"),
    ]),
)


@pytest.fixture
async def loki() -> AsyncIterator[FakeBackend]:
    async with FakeBackend() as backend:
        yield backend


@pytest.fixture
async def deps(loki: FakeBackend) -> AsyncIterator[StepDeps]:
    executor = ThreadPoolExecutor(2)
    session = new_session(2)
    sources = await Sources.open(BackendsConfig(loki=loki.url, timeout_seconds=0.5),
                                 executor)
    try:
        yield StepDeps(sources=sources, pprof=PprofClient(session, executor), executor=executor)
    finally:
        await sources.close()
        await session.close()
        executor.shutdown(wait=True)


def values(finding: Any) -> dict[str, str]:
    return {e.label: e.value for e in finding.evidence}


async def test_counts_categories_keeps_examples_and_charts(loki: FakeBackend,
                                                           deps: StepDeps) -> None:
    loki.answer(QUERY_RANGE, Reply(INCIDENT_LOGS))
    out = await logs.run(context(), deps)

    [seen] = loki.hits(QUERY_RANGE)
    assert seen.query["query"] == ['{app="checkout",env="prod"}']
    assert seen.query["limit"] == ["2000"] and seen.query["direction"] == ["backward"]
    assert seen.query["start"] == [str(int(T0.timestamp()) * 10**9)]

    assert out.signals.log_patterns == {"pool_timeout": 6, "panic": 3, "deadlock": 0}
    assert list(out.signals.log_patterns) == ["pool_timeout", "panic", "deadlock"]
    assert out.signals.numbers == {"logs.lines": 32.0, "logs.error_lines": 11.0}

    pool, panic, unmatched = out.findings
    assert pool.key == "logs.pattern.pool_timeout" and pool.severity is Severity.WARNING
    assert pool.title == "6 log lines match pool_timeout"
    assert panic.title == "3 log lines match panic" and panic.severity is Severity.CRITICAL
    assert unmatched.key == "logs.unmatched_errors"
    assert unmatched.title == "2 error lines match no known pattern"
    assert "upstream reset" in values(unmatched)["line at 10:38:00"]

    first = values(pool)
    assert first["first seen"] == "2025-11-27T10:35:00+00:00"
    assert first["last seen"] == "2025-11-27T10:42:00+00:00"
    examples = [e for e in pool.evidence if e.label.startswith("line at")]
    assert [e.label for e in examples] == ["line at 10:42:00", "line at 10:37:10",
                                           "line at 10:37:00"]  # newest first
    assert len(examples[1].value) == 300 and examples[1].value.endswith("…")
    assert "\n" not in values(panic)["line at 10:40:00"]  # one line, whitespace folded
    for evidence in pool.evidence:
        assert evidence.source == "loki" and evidence.query == '{app="checkout",env="prod"}'
        assert evidence.window is not None and evidence.window.start == T0

    [chart] = pool.charts
    assert not panic.charts and chart.title == "Matching log lines per minute"
    assert [s.label for s in chart.series] == ["pool_timeout", "panic", logs.UNMATCHED]
    pool_points = dict(chart.series[0].points)
    assert len(pool_points) == 30 and sum(pool_points.values()) == 6
    assert pool_points[(T0 + timedelta(minutes=5)).timestamp()] == 2
    assert sum(p[1] for p in chart.series[1].points) == 3


async def test_leader_line_filter_is_quoted(loki: FakeBackend, deps: StepDeps) -> None:
    loki.answer(QUERY_RANGE, Reply(INCIDENT_LOGS))
    leader = FakePlaybook("p99-latency", FakeSteps(FakeLogsStep(
        re.compile(r'pool timed out|"dead\.lock"'))))
    await logs.run(context(leader=leader), deps)
    assert loki.hits(QUERY_RANGE)[0].query["query"] == [
        r'{app="checkout",env="prod"} |~ "pool timed out|\"dead\\.lock\""']


async def test_nothing_matched_says_so(loki: FakeBackend, deps: StepDeps) -> None:
    loki.answer(QUERY_RANGE, Reply(streams(
        ({"app": "checkout"}, [(ns(m), f"GET /cart 200 {m}ms") for m in range(20)]))))
    out = await logs.run(context(), deps)
    [summary] = out.findings
    assert summary.key == "logs.summary" and summary.severity is Severity.INFO
    assert summary.title == "20 lines, no error pattern"
    assert out.signals.numbers == {"logs.lines": 20.0, "logs.error_lines": 0.0}
    assert out.signals.log_patterns == {"deadlock": 0, "panic": 0, "pool_timeout": 0}

    loki.answer(QUERY_RANGE, Reply(streams()))
    [empty] = (await logs.run(context(), deps)).findings
    assert empty.title == "No log lines in the window"


async def test_line_limit_is_reported(loki: FakeBackend, deps: StepDeps) -> None:
    many = [(str(int(T0.timestamp()) * 10**9 + i * 10**8), "pool timed out") for i in
            range(2000)]
    loki.answer(QUERY_RANGE, Reply(streams(({"app": "checkout"}, many))))
    out = await logs.run(context(), deps)
    assert out.signals.log_patterns["pool_timeout"] == 2000
    assert "the 2000-line limit" in out.findings[0].summary


async def test_self_made_loki_fixture(loki: FakeBackend, deps: StepDeps) -> None:
    loki.answer(QUERY_RANGE, Reply(ours_bytes("ours_loki_streams.json")))
    window = TimeWindow(datetime(2025, 11, 27, 11, 0, tzinfo=UTC),
                        datetime(2025, 11, 27, 11, 1, tzinfo=UTC))
    patterns = {"panic": [re.compile("panicked")], "pool_timeout": [re.compile("pool timed")]}
    out = await logs.run(context(patterns=patterns, window=window), deps)
    assert out.signals.log_patterns == {"panic": 1, "pool_timeout": 1}
    assert out.signals.numbers == {"logs.lines": 3.0, "logs.error_lines": 2.0}
    assert [f.key for f in out.findings] == ["logs.pattern.panic", "logs.pattern.pool_timeout"]


async def test_real_grafana_loki_answer(loki: FakeBackend, deps: StepDeps) -> None:
    path = SHARED_REAL / "loki" / "grafana_loki_query_range_streams_simple.json"
    if not path.exists():
        pytest.skip(f"AGPL fixture read from {SHARED_REAL}, which is absent")
    loki.answer(QUERY_RANGE, Reply(path.read_bytes()))
    start = datetime(2022, 2, 16, 16, 50, tzinfo=UTC)
    patterns = {"generic_error": [re.compile(r"\berror\b")]}
    out = await logs.run(context(patterns=patterns,
                                 window=TimeWindow(start, start + timedelta(minutes=1))), deps)
    assert out.signals.numbers == {"logs.lines": 6.0, "logs.error_lines": 1.0}
    assert out.signals.log_patterns == {"generic_error": 1}
    assert values(out.findings[0])["line at 16:50:44"] == "log line error 1"


async def test_service_without_loki_labels() -> None:
    async with await Sources.open(BackendsConfig(loki="http://127.0.0.1:9")) as sources:
        executor = ThreadPoolExecutor(1)
        session = new_session(1)
        deps = StepDeps(sources, PprofClient(session, executor), executor)
        with pytest.raises(SourceUnavailable, match="checkout has no loki labels in the catalog"):
            await logs.run(context(service=ServiceConfig(name="checkout")), deps)
        with pytest.raises(SourceUnavailable, match="no usable label matcher"):
            await logs.run(context(service=ServiceConfig(name="checkout", loki={"app": ""})),
                           deps)
        await session.close()
        executor.shutdown()


async def test_no_loki_configured() -> None:
    async with await Sources.open(BackendsConfig()) as sources:
        executor = ThreadPoolExecutor(1)
        session = new_session(1)
        with pytest.raises(SourceUnavailable, match="no Loki configured"):
            await logs.run(context(), StepDeps(sources, PprofClient(session, executor),
                                               executor))
        await session.close()
        executor.shutdown()


async def test_failing_and_slow_loki_raise_source_errors(loki: FakeBackend,
                                                         deps: StepDeps) -> None:
    loki.answer(QUERY_RANGE, Reply("upstream connect error", 502, "text/plain"))
    with pytest.raises(SourceUnavailable, match="502"):
        await logs.run(context(), deps)
    loki.answer(QUERY_RANGE, Reply("parse error at line 1, col 5: syntax error", 400,
                                   "text/plain"))
    with pytest.raises(QueryRejected, match="parse error at line 1"):
        await logs.run(context(), deps)
    loki.answer(QUERY_RANGE, Reply(INCIDENT_LOGS, delay=5))
    with pytest.raises(SourceTimeout):
        await logs.run(context(), deps)


def test_tally_inputs_and_result_cross_a_process_boundary() -> None:
    lines = logs.entries(parse_streams_answer(json.loads(INCIDENT_LOGS)))
    args = (lines, PATTERNS, 60)
    assert pickle.loads(pickle.dumps(args)) == args
    result = logs.tally(*args)
    assert pickle.loads(pickle.dumps(result)) == result
    assert result.categories["pool_timeout"].count == 6


@pytest.mark.parametrize(("text", "expected"), [
    ('level=error msg="pool exhausted"', True),
    ('{"level":"ERROR","msg":"x"}', True),
    ('{"severity": "critical", "msg": "x"}', True),
    ("2025-11-27T10:39:00.000Z ERROR checkout::payments: card declined", True),
    ("[2025-11-27T10:39:00Z ERROR checkout] card declined", True),
    ("ERROR: relation does not exist", True),
    ("2025-11-27T10:39:00.000Z  WARN checkout: retrying after error", False),
    ("GET /errors 200", False),
    ("level=info msg=\"no error\"", False),
])
def test_error_text(text: str, expected: bool) -> None:
    assert logs.error_text(text) is expected


def test_error_level_from_labels_or_metadata() -> None:
    assert logs.error_level({"level": "ERROR"}, {})
    assert logs.error_level({}, {"detected_level": "fatal"})
    assert not logs.error_level({"level": "warn"}, {"severity": "info"})
