"""generic: a bad deploy of ``payments``: errors up, restarts, nothing else out of line.

Version 2.9.0 rolls out at the anomaly's start. Its refund handler panics on an unknown
currency code (the panic is caught per request: HTTP 500 for ~38% of refunds, ~12% of all
requests) and its settlement worker panics on a batch without a currency, which the service
treats as fatal: the process exits and Kubernetes restarts it three times. Latency, CPU, memory
and everything a specific playbook looks for stay normal; what stands out is the deploy, the
restarts and the panics. Logs carry the standard library's panic messages on stderr.
Instrumentation: actix-web-prom, process collector, kube-state-metrics (restarts, limit).
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import (
    ACTIX,
    everyday_cpu,
    fixed_heap,
    pulses,
    request_log,
    window,
)
from triage_sim.service.scenarios.curves import LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    LONG_AGO,
    Pod,
    Route,
    Traffic,
    actix_http,
    build_info,
    kube_state,
    process_collector,
)
from triage_sim.service.scenarios.logs import LogModel, LogSource
from triage_sim.service.scenarios.model import (
    ANOMALY_START_S,
    AlertSpec,
    Expectation,
    Scenario,
    ServiceSpec,
)
from triage_sim.service.scenarios.profiles import ProfileModel
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
CRASHES = (START + 420, START + 2100, START + 3900)
STARTS = (START, *CRASHES)
SERVICE = ServiceSpec("payments", pod="payments-6f8d5b7c9-r4k2s", ip="10.42.1.58")
POD = Pod(SERVICE.namespace, SERVICE.pod, SERVICE.name)
CPU = flat(0.45, 0.03, 800)
RSS = flat(212 * 1024 * 1024, 2 * 1024 * 1024, 1000)
REFUND_ERRORS = ramp(0.002, 0.38, START, 60)

TRAFFIC = Traffic(flat(75.0, 5.0, 1000), (
    Route("POST", "/api/refunds", 0.3, LogNormal(0.04, 0.4), LogNormal(0.2, 0.4),
          error_share=REFUND_ERRORS),
    Route("POST", "/api/charges", 0.5, LogNormal(0.08, 0.4), LogNormal(0.4, 0.4),
          error_share=ramp(0.002, 0.01, START, 60)),
    Route("GET", "/api/payments/{id}", 0.2, LogNormal(0.01, 0.4), LogNormal(0.1, 0.4),
          error_share=flat(0.001)),
), resets=STARTS)

FAMILIES = (
    *actix_http(TRAFFIC),
    *process_collector(CPU, RSS, starts=(LONG_AGO, *STARTS), threads=10),
    *kube_state(POD, memory_limit=512 * 1024 * 1024, cpu_limit=1.0, restarts=CRASHES),
    *build_info([(0.0, "2.8.0", "1a2b3c4"), (START, "2.9.0", "9f8e7d6")]),
)

_PANIC = ("thread 'actix-rt|system:0|arbiter:{n}' panicked at src/refund.rs:57:32:\n"
          "called `Result::unwrap()` on an `Err` value: InvalidCurrency(\"XTS\")\n"
          "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")
_FATAL = ("thread 'tokio-runtime-worker' panicked at src/settlement.rs:131:18:\n"
          "settlement batch 44{n}1 has no currency: missing field `currency`")


def _version(t: float, u: float) -> dict[str, object]:
    return {"version": "2.9.0" if t >= START else "2.8.0"}


LOGS = LogModel((
    request_log(701, [("POST", "/api/charges"), ("GET", "/api/payments/{id}")]),
    LogSource(702, window(START + 10, rate=0.4), "ERROR", "payments", (_PANIC,), format="raw",
              stream="stderr"),
    LogSource(703, window(START + 10, rate=1.2), "ERROR", "payments::http",
              ('request failed method=POST uri=/api/refunds status=500 '
               'error="handler panicked"',)),
    LogSource(704, pulses([c - 10 for c in CRASHES], 1), "ERROR", "payments", (_FATAL,),
              format="raw", stream="stderr"),
    LogSource(705, pulses([c - 10 for c in CRASHES], 1), "ERROR", "payments::supervisor",
              ("critical task 'settlement' panicked; exiting so the orchestrator restarts us",)),
    LogSource(706, pulses(STARTS, 3), "INFO", "payments", (
        "starting payments version={version} git_sha=9f8e7d6",
        "starting 4 workers",
        "Actix runtime found; starting in Actix runtime",
    ), fields=_version, in_order=True),
    LogSource(707, flat(1 / 60), "INFO", "payments::settlement", ("settled batch size={n}8",)),
), SERVICE.log_labels())

_BANK = SpanShape("POST https://bank-gateway.internal/v2/refunds", offset=0.15, share=0.6,
                  kind="client", attributes={"http.request.method": "POST",
                                             "server.address": "bank-gateway.internal",
                                             "peer.service": "bank-gateway"})
_INSERT = SpanShape("INSERT refunds", offset=0.8, share=0.12, kind="client",
                    attributes={"db.system": "postgresql", "db.operation.name": "INSERT",
                                "db.collection.name": "refunds", "server.address": "pg-payments"})
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("POST", "/api/refunds", (0.03, 0.12), (
            SpanShape("payments::refund::validate", offset=0.02, share=0.1), _BANK, _INSERT),
            weight=3),
        TraceShape("POST", "/api/charges", (0.05, 0.2), (
            SpanShape("POST https://bank-gateway.internal/v2/charges", offset=0.1, share=0.7,
                      kind="client", attributes={"http.request.method": "POST",
                                                 "server.address": "bank-gateway.internal",
                                                 "peer.service": "bank-gateway"}),), weight=5),
        TraceShape("GET", "/api/payments/{id}", (0.004, 0.02), (), weight=2),
    ),
    anomaly=(
        TraceShape("POST", "/api/refunds", (0.005, 0.04), (
            SpanShape("payments::refund::validate", offset=0.05, share=0.3),
            SpanShape("payments::refund::parse_currency", parent=1, offset=0.1, share=0.2,
                      error='InvalidCurrency("XTS")'),
        ), status=500, error="handler panicked"),
    ),
    anomaly_share=ramp(0.0, 0.11, START, 60), seed=0xBAD, version="2.9.0",
)

PROFILES = ProfileModel(
    "/usr/local/bin/payments",
    baseline=everyday_cpu("payments", "handlers::charges::create::{{closure}}",
                          bottom=("payments::handlers::charges::create::{{closure}}", *ACTIX)),
    heap_fixed=fixed_heap("payments"),
)

SCENARIO = Scenario(
    name="generic",
    playbook="generic",
    title="payments 2.9.0 is a bad deploy: panics, errors and restarts",
    description=__doc__ or "",
    alert=AlertSpec("HighErrorRate", "critical",
                    "payments 5xx ratio above 5% for 5 minutes (currently ~12%)",
                    "More than 5% of payments' HTTP requests fail.",
                    'sum(rate(http_requests_total{job="payments",status=~"5.."}[5m])) / '
                    'sum(rate(http_requests_total{job="payments"}[5m])) > 0.05'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    restarts=STARTS,
    cause="bad-deploy",
    expect=Expectation(
        numbers={"deploy.changed": (1, 1),
                 "process.restarts": (3, 5),
                 "http.error_ratio": (0.08, 0.2),
                 "cpu.change": (0.8, 1.25)},
        log_lines=("panicked at src/refund.rs", "critical task 'settlement' panicked"),
    ),
)
