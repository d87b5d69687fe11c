"""cpu-spike: ``search`` formats documents with ``Debug`` and compiles regexes per request.

A new kind of query (many category filters) hits a path that builds a cache key with
``format!("{:?}", doc)`` for every candidate and compiles each filter's regex on every request.
CPU goes from ~0.6 to ~3.5 cores of a 4-core limit and P99 from ~70 ms to ~1 s; request rate
barely changes and nothing restarts. The CPU profile is topped by ``core::fmt::write`` under
``<search::model::Document as core::fmt::Debug>::fmt``, then ``regex::regex::string::Regex::new``
and allocator frames (``__rust_alloc``). Logs are tracing's JSON layout.
Instrumentation: actix-web-prom, cAdvisor (no process collector, no Tokio metrics).
"""

from __future__ import annotations

from triage_sim.service.scenarios.common import ACTIX, everyday_cpu, fixed_heap, request_log, window
from triage_sim.service.scenarios.curves import Curve, LogNormal, flat, ramp
from triage_sim.service.scenarios.instrumentation import (
    Pod,
    Route,
    Traffic,
    actix_http,
    build_info,
    cadvisor,
)
from triage_sim.service.scenarios.logs import LogModel, LogSource
from triage_sim.service.scenarios.model import (
    ANOMALY_START_S,
    AlertSpec,
    Expectation,
    Scenario,
    ServiceSpec,
)
from triage_sim.service.scenarios.profiles import ProfileModel, Stack
from triage_sim.service.scenarios.traces import SpanShape, TraceModel, TraceShape

START = ANOMALY_START_S
SERVICE = ServiceSpec("search", pod="search-6d4c7b8f9-m8rtz", ip="10.42.3.12")
POD = Pod(SERVICE.namespace, SERVICE.pod, SERVICE.name)
CPU = Curve(((0.0, 0.62), (START, 0.62), (START + 300, 3.55)), 0.05, 600)
HOT = ramp(0.0, 0.35, START, 300)

TRAFFIC = Traffic(ramp(180.0, 196.0, START, 300, amplitude=9.0, period=1100), (
    Route("GET", "/search", 0.8, LogNormal(0.025, 0.45), LogNormal(0.7, 0.4), HOT, flat(0.001)),
    Route("GET", "/suggest", 0.2, LogNormal(0.006, 0.4), LogNormal(0.3, 0.4),
          ramp(0.0, 0.2, START, 300)),
))

FAMILIES = (
    *actix_http(TRAFFIC),
    *cadvisor(POD, CPU, flat(540 * 1024 * 1024, 6 * 1024 * 1024, 900), 2 * 1024**3),
    *build_info([(0.0, "1.9.3", "0c44d1b")]),
)


def _slow(t: float, u: float) -> dict[str, object]:
    return {"elapsed": 520 + int(1100 * u), "terms": 3 + int(9 * u), "filters": 12 + int(20 * u)}


LOGS = LogModel((
    request_log(301, [("GET", "/search"), ("GET", "/suggest")], fmt="json"),
    LogSource(302, window(START, rate=0.2), "WARN", "search::http",
              ("slow search query took {elapsed} ms (threshold 500 ms) terms={terms} "
               "filters={filters}",), fields=_slow, format="json"),
    LogSource(303, window(START, rate=0.5), "DEBUG", "search::ranking",
              ('ranking cache miss key=Document {{ id: {k}, title: "…", tags: ["books", '
               '"media"], body_len: {ms}31 }}',), format="json"),
    LogSource(304, flat(1 / 60), "INFO", "search::index",
              ("index snapshot current generation={n}41 documents=1832207",), format="json"),
), SERVICE.log_labels())

_JSON = SpanShape("serde_json::to_vec", offset=0.95, share=0.03)
TRACES = TraceModel(
    SERVICE.traces,
    normal=(
        TraceShape("GET", "/search", (0.012, 0.08), (
            SpanShape("search::index::lookup", offset=0.05, share=0.4),
            SpanShape("search::ranking::score", offset=0.5, share=0.4), _JSON), weight=8),
        TraceShape("GET", "/suggest", (0.003, 0.02), (
            SpanShape("search::index::prefix", offset=0.1, share=0.7),), weight=2),
    ),
    anomaly=(
        TraceShape("GET", "/search", (0.5, 1.6), (
            SpanShape("search::filters::compile", offset=0.02, share=0.35,
                      attributes={"filters.count": 24}),
            SpanShape("search::index::lookup", offset=0.38, share=0.04),
            SpanShape("search::ranking::score", offset=0.43, share=0.52,
                      attributes={"candidates": 4000}), _JSON)),
    ),
    anomaly_share=HOT, seed=0x5EA2, version="1.9.3",
)

_SCORE = ("search::ranking::score", "search::handlers::search::{{closure}}", *ACTIX)
_KEY = ("alloc::fmt::format::format_inner", "search::ranking::cache_key", *_SCORE)
_FILTER = ("regex::regex::string::Regex::new", "search::filters::Filter::matches",
           "search::filters::apply", "search::handlers::search::{{closure}}", *ACTIX)
PROFILES = ProfileModel(
    "/usr/local/bin/search",
    baseline=everyday_cpu("search", "ranking::score", bottom=(
        "search::handlers::search::{{closure}}", *ACTIX)),
    anomaly=(
        Stack(("core::fmt::write", "<&T as core::fmt::Debug>::fmt",
               "core::fmt::builders::DebugStruct::field",
               "<search::model::Document as core::fmt::Debug>::fmt", "core::fmt::write",
               *_KEY), 0.34),
        Stack(("regex_automata::nfa::thompson::compiler::Compiler::c",
               "regex_automata::nfa::thompson::compiler::Compiler::build_many_from_hir",
               "regex_automata::meta::strategy::new",
               "regex_automata::meta::regex::Builder::build_many_from_hir",
               "regex::builders::Builder::build_one_string", *_FILTER), 0.16),
        Stack(("regex_syntax::ast::parse::ParserI<P>::parse_with_comments",
               "regex_syntax::parser::Parser::parse", "regex::builders::Builder::build_one_string",
               *_FILTER), 0.08),
        Stack(("__rust_alloc", "alloc::raw_vec::RawVec<T,A>::grow_one",
               "<alloc::string::String as core::fmt::Write>::write_str", "core::fmt::write",
               *_KEY), 0.14),
        Stack(("_rjem_sdallocx", "core::ptr::drop_in_place<alloc::string::String>",
               *_SCORE), 0.07),
        Stack(("__memmove_avx_unaligned_erms",
               "<alloc::string::String as core::fmt::Write>::write_str", "core::fmt::write",
               *_KEY), 0.06),
    ),
    anomaly_share=ramp(0.0, 0.85, START, 300),
    heap_fixed=fixed_heap("search"),
)

SCENARIO = Scenario(
    name="cpu-spike",
    playbook="cpu-spike",
    title="search burns CPU on Debug formatting and per-request regex compilation",
    description=__doc__ or "",
    alert=AlertSpec("HighCPUUsage", "warning",
                    "search CPU above 3 cores for 10 minutes (limit 4)",
                    "Container CPU of search is near its limit.",
                    'sum(rate(container_cpu_usage_seconds_total{job="search"}[5m])) > 3'),
    service=SERVICE, families=FAMILIES, logs=LOGS, traces=TRACES, profiles=PROFILES, cpu=CPU,
    cause="debug-formatting",
    expect=Expectation(
        numbers={"cpu.cores": (3.0, 4.0),
                 "cpu.change": (4.0, 7.0),
                 "http.p99_seconds": (0.5, 3.0),
                 "http.request_rate_change": (0.9, 1.2)},
        log_lines=("slow search query",),
        span_category="internal",
        cpu_frame="core::fmt::write", under_worker=True,
    ),
)
