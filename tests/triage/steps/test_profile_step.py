"""The profile step against a local fake pprof endpoint, with the real PprofClient."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import BackendsConfig, ServiceConfig
from bot.errors import SourceTimeout, SourceUnavailable
from bot.models import Severity
from bot.sources.http import new_session
from bot.sources.pprof.client import PprofClient, profile_executor
from bot.sources.pprof.encode import encode
from bot.sources.registry import Sources
from bot.sources.window import TimeWindow
from bot.triage.steps import profile
from bot.triage.steps.base import StepContext, StepDeps
from tests.sources.pprof import hostile
from tests.triage.steps.test_frames import HEAP_BASE, HEAP_NEW, STARVATION, MiB

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "pprof"
T0 = datetime(2025, 11, 27, 10, 30, tzinfo=UTC)
WINDOW = TimeWindow(T0, T0 + timedelta(minutes=30))
CPU = "/debug/pprof/profile"
HEAP = "/debug/pprof/heap"


@dataclass
class FakeProfileStep:
    kind: str = "cpu"
    seconds: int = 10
    interval_seconds: float = 30


@dataclass
class FakeSteps:
    profile: FakeProfileStep = field(default_factory=FakeProfileStep)


@dataclass
class FakePlaybook:
    id: str
    steps: FakeSteps = field(default_factory=FakeSteps)


def heap_leader(interval: float = 0) -> FakePlaybook:
    return FakePlaybook("memory-growth", FakeSteps(FakeProfileStep("heap_diff", 10, interval)))


@dataclass
class PprofFake:
    """A service's pprof endpoint: a CPU profile, and heap snapshots answered in turn."""

    cpu: bytes = b""
    heaps: list[bytes] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    seen: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    server: TestServer | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def handle(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        self.seen.append((request.path, dict(request.query), loop.time()))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), self.delay)
        if self.status != 200:
            return web.Response(status=self.status, text="profiling is broken")
        if request.path == CPU:
            body = self.cpu
        else:
            body = self.heaps[0] if len(self.heaps) == 1 else self.heaps.pop(0)
        return web.Response(body=body, content_type="application/octet-stream")


@pytest.fixture
async def fake() -> AsyncIterator[PprofFake]:
    pprof = PprofFake()
    app = web.Application()
    app.router.add_get(CPU, pprof.handle)
    app.router.add_get(HEAP, pprof.handle)
    pprof.server = TestServer(app, host="127.0.0.1")
    await pprof.server.start_server()
    try:
        yield pprof
    finally:
        pprof.released.set()
        await pprof.server.close()


@dataclass
class Harness:
    """Real Sources (nothing configured: the profile step needs none) and a real PprofClient."""

    deps: StepDeps
    service: ServiceConfig

    def context(self, leader: FakePlaybook | None = None,
                service: ServiceConfig | None = None) -> StepContext:
        return StepContext(incident_id="inc-1", service=service or self.service, now=WINDOW.end,
                           window=WINDOW, playbooks=None, leader=leader)  # type: ignore[arg-type]


async def harness(fake: PprofFake, executor: Executor, *, client_timeout: float = 2.0,
                  profile_seconds: int | None = None) -> Harness:
    session = new_session(2)
    sources = await Sources.open(BackendsConfig(), executor)
    client = PprofClient(session, executor, timeout_seconds=client_timeout)
    deps = StepDeps(sources=sources, pprof=client, executor=executor,
                    profile_seconds=profile_seconds)
    return Harness(deps, ServiceConfig(name="checkout", pprof=fake.url))


async def close(h: Harness) -> None:
    await h.deps.sources.close()
    await h.deps.pprof._session.close()


@pytest.fixture
async def threads() -> AsyncIterator[Executor]:
    executor = ThreadPoolExecutor(2)
    yield executor
    executor.shutdown(wait=True)


@pytest.fixture
async def h(fake: PprofFake, threads: Executor) -> AsyncIterator[Harness]:
    made = await harness(fake, threads)
    yield made
    await close(made)


async def test_cpu_profile_finds_sleep_under_a_tokio_worker(fake: PprofFake,
                                                           h: Harness) -> None:
    fake.cpu = encode(STARVATION)
    out = await profile.run(h.context(), h.deps)
    [(path, query, _)] = fake.seen
    assert (path, query) == (CPU, {"seconds": "30"})  # no leader: 30 s
    assert out.signals.numbers == {"profile.samples": 100.0}
    frames = {f.function: f for f in out.signals.frames}
    sleep = frames["std::thread::sleep"]
    assert sleep.under_worker and sleep.flat == pytest.approx(0.65)
    assert sleep.cum == pytest.approx(0.65)
    assert not frames["alloc::raw_vec::finish_grow"].under_worker
    assert frames["checkout::handlers::post_checkout::{{closure}}"].cum == pytest.approx(0.85)
    [finding] = out.findings
    assert finding.key == "profile.top_frames" and finding.severity is Severity.INFO
    assert finding.title == "Hottest function: std::thread::sleep (65% flat)"
    top = finding.evidence[0]
    assert (top.label, top.value) == ("std::thread::sleep", "flat 65.0%, cum 65.0% [worker]")
    assert top.source == "pprof" and top.query == f"{CPU}?seconds=30"
    assert top.number == pytest.approx(0.65) and top.unit == "ratio"
    assert "over 30 s: 100 samples (count)" in finding.summary


async def test_profile_seconds_from_the_override_then_the_leader(fake: PprofFake,
                                                                 threads: Executor) -> None:
    fake.cpu = encode(STARVATION)
    leader = FakePlaybook("cpu-spike", FakeSteps(FakeProfileStep("cpu", 7)))
    made = await harness(fake, threads)
    await profile.run(made.context(leader), made.deps)
    await close(made)
    made = await harness(fake, threads, profile_seconds=3)
    await profile.run(made.context(leader), made.deps)
    await close(made)
    assert [query["seconds"] for _, query, _ in fake.seen] == ["7", "3"]


async def test_cpu_analysis_runs_in_a_worker_process(fake: PprofFake) -> None:
    fake.cpu = encode(STARVATION)
    executor = profile_executor(1)
    made = await harness(fake, executor)
    try:
        out = await profile.run(made.context(), made.deps)
    finally:
        await close(made)
        executor.shutdown(wait=True)
    assert {f.function: f for f in out.signals.frames}["std::thread::sleep"].under_worker


async def test_real_cpu_profile(fake: PprofFake, h: Harness) -> None:
    fake.cpu = (REAL / "google-pprof_sample.cpu.pb.gz").read_bytes()
    out = await profile.run(h.context(), h.deps)
    assert out.signals.numbers == {"profile.samples": 176.0}
    assert out.findings[0].title == "Hottest function: runtime.mapiternext (73% flat)"
    rows = out.findings[0].evidence
    assert len(rows) == 14  # the 10 hottest by flat, then the heaviest callers by cum
    assert [r.label for r in rows[10:]] == ["main.main", "runtime.main"] + [
        r.label for r in rows[12:]]
    assert all(r.number and r.number > 0 for r in rows[:10])
    assert not any(f.under_worker for f in out.signals.frames)


async def test_heap_diff_finds_the_growing_arc(fake: PprofFake, h: Harness) -> None:
    fake.heaps = [encode(HEAP_BASE), encode(HEAP_NEW)]
    out = await profile.run(h.context(heap_leader(0.2)), h.deps)
    (first, _, at_first), (second, _, at_second) = fake.seen
    assert first == second == HEAP
    assert at_second - at_first >= 0.2  # the interval the process had to allocate

    assert out.signals.numbers == {"heap.growth_bytes": float(8 * MiB)}
    frames = {f.function: f for f in out.signals.frames}
    arc = frames["alloc::sync::Arc<T>::new"]
    assert arc.cum == pytest.approx(8 / 9) and arc.flat == 0 and not arc.under_worker

    stacks, functions = out.findings
    assert stacks.key == "profile.growing_stacks" and stacks.severity is Severity.WARNING
    assert stacks.title == "In-use heap grew by 8MB in 0.2 s"
    assert "3MB then 11MB in use" in stacks.summary
    assert stacks.evidence[0].label.endswith(
        "checkout::session::SessionCache::insert → alloc::sync::Arc<T>::new")
    assert (stacks.evidence[0].value, stacks.evidence[0].number) == ("+8MB", 8 * MiB)
    assert stacks.evidence[1].label.endswith(
        "checkout::index::add → hashbrown::raw::RawTable<T,A>::reserve_rehash")
    assert len(stacks.evidence) == 2  # the shrinking Vec is not growth
    assert functions.key == "profile.growing_functions"
    assert functions.title == "Growth is under alloc::sync::Arc<T>::new (89% of it)"
    labels = [e.label for e in functions.evidence]
    assert "alloc::sync::Arc<T>::new" in labels
    arc_row = functions.evidence[labels.index("alloc::sync::Arc<T>::new")]
    assert arc_row.value == "+8MB (flat 0%, cum 89%)"
    assert all(e.query == f"{HEAP} twice, 0.2 s apart, inuse_space" for e in functions.evidence)


async def test_real_heap_pair(fake: PprofFake, h: Harness) -> None:
    fake.heaps = [(REAL / "parca_heap_t1_1644509272337470000.pb.gz").read_bytes(),
                  (REAL / "parca_heap_t2_1644509299337903000.pb.gz").read_bytes()]
    out = await profile.run(h.context(heap_leader()), h.deps)
    assert out.signals.numbers == {"heap.growth_bytes": float(143_698_391 - 48_928_729)}
    stacks, functions = out.findings
    assert stacks.title == "In-use heap grew by 90.38MB in 0 s"
    assert stacks.evidence[0].label.endswith("github.com/dgraph-io/badger/v3/skl.newArena")
    assert functions.title.startswith(
        "Growth is under github.com/dgraph-io/badger/v3/skl.newArena (")
    assert functions.evidence[0].number == max(e.number or 0 for e in functions.evidence)
    assert out.signals.frames[0].function == "github.com/dgraph-io/badger/v3/skl.newArena"


async def test_same_heap_twice_did_not_grow(fake: PprofFake, h: Harness) -> None:
    fake.heaps = [(REAL / "parca_heap_t1_1644509272337470000.pb.gz").read_bytes()]
    out = await profile.run(h.context(heap_leader()), h.deps)
    assert out.signals.numbers == {"heap.growth_bytes": 0.0}
    assert out.signals.frames == []
    stacks, functions = out.findings
    assert stacks.title == "In-use heap did not grow in 0 s" and not stacks.evidence
    assert stacks.severity is Severity.INFO
    assert functions.title == "No function's in-use memory grew"


async def test_service_without_pprof(h: Harness) -> None:
    with pytest.raises(SourceUnavailable, match="checkout has no pprof endpoint"):
        await profile.run(h.context(service=ServiceConfig(name="checkout")), h.deps)


async def test_bad_answers_raise_source_errors(fake: PprofFake, h: Harness) -> None:
    fake.cpu = b"<html>not a profile</html>"
    with pytest.raises(SourceUnavailable, match="the cpu profile is not a pprof profile"):
        await profile.run(h.context(), h.deps)
    fake.heaps = [encode(STARVATION)]  # a CPU profile where a heap one should be
    with pytest.raises(SourceUnavailable, match="heap profiles: unknown sample type"):
        await profile.run(h.context(heap_leader()), h.deps)
    fake.status = 500
    with pytest.raises(SourceUnavailable, match="answered 500"):
        await profile.run(h.context(), h.deps)


async def test_slow_endpoint_times_out(fake: PprofFake, threads: Executor) -> None:
    fake.delay = 5
    made = await harness(fake, threads, client_timeout=0.3)
    try:
        with pytest.raises(SourceTimeout, match=r"no complete answer within 0\.3 s"):
            await profile.run(made.context(heap_leader()), made.deps)
    finally:
        await close(made)


async def test_a_hostile_profile_fails_the_step_plainly_and_the_next_one_works(
    fake: PprofFake,
) -> None:
    executor = profile_executor(1)
    made = await harness(fake, executor)
    try:
        fake.cpu = hostile.empty_samples_bomb()  # issue 12's 51 KB reproduction
        with pytest.raises(SourceUnavailable, match=r"^pprof: checkout: profile too large: "
                                                    r"more than 1,000,000 samples$"):
            await profile.run(made.context(), made.deps)
        fake.cpu = hostile.redos_profile()  # issue 12's 86-byte hang
        out = await profile.run(made.context(), made.deps)
        assert out.findings[0].title == f"Hottest function: {hostile.REDOS_NAME} (100% flat)"
        fake.cpu = encode(STARVATION)
        out = await profile.run(made.context(), made.deps)
        assert {f.function: f for f in out.signals.frames}["std::thread::sleep"].under_worker
        assert executor.restarts == 0
    finally:
        await close(made)
        executor.shutdown(wait=True, cancel_futures=True)
