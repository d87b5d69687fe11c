"""task-leak: ``notifier`` spawns a reconnect task per upstream stall and never stops them.

When the upstream event stream stalls, the notifier spawns a reconnect loop and drops its
``JoinHandle``; the loops never end. Alive tasks grow linearly (~7.7/s, from ~310 to ~42k over
90 minutes), RSS grows with them (~17 KB/s, no memory limit set) and CPU creeps up as the timer
wheel wakes every leaked loop. The heap diff grows in ``tokio::runtime::task::core::Cell<T,S>::new``
under ``tokio::task::spawn``; the CPU profile is topped by the reconnect loop itself.
Instrumentation: OpenTelemetry HTTP (with exemplars), process collector, tokio-metrics with the
older ``tokio_num_alive_tasks`` name.
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Route,
    Runtime,
    Traffic,
    build_info,
    otel_http,
    process_collector,
    tokio_runtime,
)
from triage_sim.service.scenarios.logs import LogModel, LogSource
from triage_sim.service.scenarios.model import (
    ANOMALY_START_S,
    AlertSpec,
    Expectation,
    Scenario,
    ServiceSpec,
)
from triage_sim.service.scenarios.profiles import WORKER, ProfileModel, Stack
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
LEAK_PER_S = 7.7
TASK_BYTES = 2300
LATER = START + 30_000  # the leak goes on past the anchor
SERVICE = ServiceSpec("notifier", pod="notifier-7b5c9d8f4-zx9pm", ip="10.42.3.27")
TASKS = Curve(((0.0, 310.0), (START, 310.0), (LATER, 310.0 + LEAK_PER_S * (LATER - START))),
              9.0, 700)
RSS = Curve(((0.0, 180 * 1048576.0), (START, 180 * 1048576.0),
             (LATER, 180 * 1048576.0 + LEAK_PER_S * TASK_BYTES * (LATER - START))),
            1.5 * 1048576, 1300)
CPU = Curve(((0.0, 0.18), (START, 0.18), (START + 5400, 0.62), (LATER, 2.0)), 0.015, 600)

TRAFFIC = Traffic(flat(60.0, 4.0, 1000), (
    Route("POST", "/api/notify", 0.7, LogNormal(0.03, 0.4), LogNormal(0.25, 0.4),
          ramp(0.0, 0.08, START, 5400), flat(0.0008)),
    Route("GET", "/api/subscriptions/{id}", 0.3, LogNormal(0.008, 0.4), LogNormal(0.12, 0.4),
          ramp(0.0, 0.05, START, 5400)),
))

FAMILIES = (
    *otel_http(TRAFFIC),
    *process_collector(CPU, RSS, threads=6),
    *tokio_runtime(Runtime(
        2, busy=Curve(((0.0, 0.08), (START, 0.08), (START + 5400, 0.34), (LATER, 0.9)), 0.01),
        mean_poll_us=flat(25.0, 3.0, 400),
        global_queue=Curve(((0.0, 0.0), (START, 0.0), (START + 5400, 6.0)), 0.4, 300),
        live_tasks=TASKS, live_name="tokio_num_alive_tasks")),
    *build_info([(0.0, "0.14.1", "3aa01f9")]),
)


def _waiting(t: float, u: float) -> dict[str, object]:
    return {"waiting": int(max(0.0, t - START) * u), "attempt": 1 + int(u * 400)}


LOGS = LogModel((
    request_log(601, [("POST", "/api/notify"), ("GET", "/api/subscriptions/{id}")]),
    LogSource(602, window(START, rate=0.6), "WARN", "notifier::upstream",
              ("upstream event stream stalled, spawning reconnect task "
               "subscription_id=sub_{id} attempt={attempt}",), fields=_waiting),
    LogSource(603, window(START + 120, rate=0.3), "DEBUG", "notifier::upstream",
              ("reconnect task still waiting for upstream subscription_id=sub_{id} "
               "waiting_s={waiting}",), fields=_waiting),
    LogSource(604, flat(1 / 300), "INFO", "notifier::upstream",
              ("upstream event stream connected endpoint=events.internal:443",)),
), SERVICE.log_labels())

_PUSH = SpanShape("POST https://push.internal/v1/send", offset=0.1, share=0.7, kind="client",
                  attributes={"http.request.method": "POST", "server.address": "push.internal",
                              "url.full": "https://push.internal/v1/send",
                              "peer.service": "push-gateway"})
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("POST", "/api/notify", (0.02, 0.09), (
            _PUSH, SpanShape("serde_json::to_vec", offset=0.05, share=0.04)), weight=7),
        TraceShape("GET", "/api/subscriptions/{id}", (0.004, 0.02), (
            SpanShape("notifier::subscriptions::Registry::get", offset=0.1, share=0.6),),
            weight=3),
    ),
    anomaly=(
        TraceShape("POST", "/api/notify", (0.15, 0.6), (
            SpanShape("notifier::dispatch::queue_wait", offset=0.02, share=0.5),
            SpanShape("POST https://push.internal/v1/send", offset=0.55, share=0.4,
                      kind="client", attributes={"http.request.method": "POST",
                                                 "server.address": "push.internal",
                                                 "peer.service": "push-gateway"})),),
    ),
    anomaly_share=ramp(0.0, 0.1, START, 5400), seed=0x7A5C, version="0.14.1",
)

_LOOP = ("notifier::upstream::reconnect_loop::{{closure}}", *WORKER)
_SPAWN = ("tokio::runtime::task::core::Cell<T,S>::new", "tokio::runtime::task::raw::RawTask::new",
          "tokio::runtime::task::new_task",
          "tokio::runtime::scheduler::multi_thread::handle::Handle::bind_new_task",
          "tokio::task::spawn::spawn_inner", "tokio::task::spawn::spawn",
          "notifier::upstream::Upstream::on_stall",
          "notifier::upstream::Upstream::run::{{closure}}", *WORKER)
PROFILES = ProfileModel(
    "/usr/local/bin/notifier",
    baseline=everyday_cpu("notifier", "handlers::notify::{{closure}}"),
    anomaly=(
        Stack(_LOOP, 0.4),
        Stack(("tokio::runtime::time::entry::TimerEntry::poll_elapsed",
               "<tokio::time::sleep::Sleep as core::future::future::Future>::poll", *_LOOP), 0.25),
        Stack(("tokio::runtime::time::wheel::Wheel::poll",
               "tokio::runtime::time::Driver::process_at_time",
               "tokio::runtime::time::Driver::park_internal",
               "tokio::runtime::scheduler::multi_thread::park::Parker::park", *WORKER[3:]), 0.2),
        Stack(("tokio::runtime::task::waker::wake_by_val",
               "tokio::runtime::time::Driver::process_at_time",
               "tokio::runtime::time::Driver::park_internal", *WORKER[3:]), 0.15),
    ),
    anomaly_share=Curve(((START, 0.0), (START + 5400, 0.6), (LATER, 0.9))),
    heap_fixed=fixed_heap("notifier"),
    heap_growth=(
        Stack(("_rjem_je_malloc_default", "alloc::alloc::exchange_malloc", *_SPAWN),
              LEAK_PER_S * 1900),
        Stack(("_rjem_je_malloc_default", "alloc::raw_vec::RawVec<T,A>::grow_one",
               "notifier::subscriptions::Registry::track", *_SPAWN[6:]), LEAK_PER_S * 400),
    ),
    growth_start=START,
)

SCENARIO = Scenario(
    name="task-leak",
    playbook="task-leak",
    title="notifier leaks reconnect tasks whose JoinHandles are dropped",
    description=__doc__ or "",
    alert=AlertSpec("TokioTasksGrowing", "warning",
                    "notifier: alive Tokio tasks grew from ~310 to ~42k in 90 minutes",
                    "tokio_num_alive_tasks of notifier has grown steadily for over an hour.",
                    'deriv(tokio_num_alive_tasks{job="notifier"}[30m]) > 1'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    expect=Expectation(
        numbers={"tokio.live_tasks": (35_000, 50_000),
                 "tokio.live_tasks_slope_per_s": (5.0, 10.0),
                 "rss.slope_bytes_per_s": (10_000, 25_000),
                 "cpu.change": (2.0, 5.0)},
        log_lines=("spawning reconnect task",),
        cpu_frame="notifier::upstream::reconnect_loop::{{closure}}", under_worker=True,
        heap_frame="tokio::runtime::task::core::Cell<T,S>::new",
    ),
)
