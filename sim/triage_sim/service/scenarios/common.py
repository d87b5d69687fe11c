"""Pieces every simulated service shares: request logs, everyday CPU and heap stacks.

A scenario is its anomaly on top of an ordinary service; this module is the ordinary part, so
each scenario module only says what goes wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from triage_sim.service.scenarios.curves import Fn, flat
from triage_sim.service.scenarios.logs import LogFormat, LogSource
from triage_sim.service.scenarios.profiles import HANDLER, WORKER, Stack

__all__ = [
    "ACTIX",
    "everyday_cpu",
    "fixed_heap",
    "pulses",
    "request_log",
    "window",
]

#: The bottom of an actix-web handler's stack: a current-thread Tokio runtime per worker.
ACTIX = (
    "<actix_web::handler::HandlerServiceFuture<F,T,R> as core::future::future::Future>::poll",
    "<actix_http::h1::dispatcher::Dispatcher<T,S,B,X,U> as core::future::future::Future>::poll",
    "tokio::runtime::task::harness::Harness<T,S>::poll",
    "tokio::task::local::LocalSet::tick",
    "tokio::runtime::scheduler::current_thread::CoreGuard::block_on",
    "tokio::runtime::runtime::Runtime::block_on",
    "actix_rt::arbiter::Arbiter::in_new_system",
    "std::sys::pal::unix::thread::Thread::new::thread_start",
    "start_thread",
    "clone3",
)
_PARK = (
    "epoll_wait",
    "mio::poll::Poll::poll",
    "tokio::runtime::io::driver::Driver::turn",
    "tokio::runtime::time::Driver::park_internal",
    "tokio::runtime::scheduler::multi_thread::park::Parker::park_timeout",
    "tokio::runtime::scheduler::multi_thread::worker::Context::park_timeout",
    *WORKER[3:],
)
SAMPLED = flat(0.5)  # request lines per second: TraceLayer logs a sample of requests
_MAIN = ("tokio::runtime::park::CachedParkThread::block_on", "std::rt::lang_start_internal",
         "main")


def window(start: float, end: float = float("inf"), rate: float = 1.0) -> Fn:
    """``rate`` between ``start`` and ``end``, zero elsewhere."""
    return lambda t: rate if start <= t < end else 0.0


def pulses(times: Sequence[float], events: int, width: float = 10.0) -> Fn:
    """Exactly ``events`` events in the ``width`` seconds after each of ``times``.

    Times and width should sit on the 10 s integration grid so each pulse integrates exactly.
    """
    ordered = tuple(sorted(times))
    return lambda t: events / width if any(r <= t < r + width for r in ordered) else 0.0


def request_log(key: int, routes: Sequence[tuple[str, str]], rate: Fn = SAMPLED,
                fmt: LogFormat = "fmt") -> LogSource:
    """tower-http's TraceLayer line for each finished request (sampled)."""
    def fields(t: float, u: float) -> dict[str, object]:
        method, path = routes[int(u * len(routes)) % len(routes)]
        uri = path.replace("{id}", "8812").replace("{sku}", "SKU-1177")
        return {"method": method, "uri": uri}

    return LogSource(key, rate, "INFO", "tower_http::trace::on_response",
                     ("finished processing request latency={ms} ms status=200",),
                     fields=fields, format=fmt,
                     span="request{{method={method} uri={uri} version=HTTP/1.1}}")


def everyday_cpu(crate: str, handler: str, bottom: tuple[str, ...] = ()) -> tuple[Stack, ...]:
    """What a healthy HTTP service burns CPU on: parsing, its handler, JSON, copies, idling."""
    base = bottom or (*HANDLER, *WORKER)

    def at(*frames: str) -> tuple[str, ...]:
        return (*frames, *base)

    return (
        Stack(at("httparse::parse_headers", "hyper::proto::h1::role::Server::parse"), 0.07),
        Stack(at(f"{crate}::{handler}"), 0.22),
        Stack(at("serde_json::ser::to_vec", f"{crate}::http::json_response"), 0.10),
        Stack(at("_rjem_je_malloc_default", "alloc::raw_vec::RawVec<T,A>::grow_one",
                 f"{crate}::{handler}"), 0.06),
        Stack(at("__memmove_avx_unaligned_erms",
                 "bytes::bytes_mut::BytesMut::extend_from_slice"), 0.05),
        Stack(at("__send", "<tokio::net::tcp::stream::TcpStream as "
                 "tokio::io::async_write::AsyncWrite>::poll_write"), 0.08),
        Stack(at("__recv", "<tokio::net::tcp::stream::TcpStream as "
                 "tokio::io::async_read::AsyncRead>::poll_read"), 0.07),
        Stack(_PARK if not bottom else ("epoll_wait", "mio::poll::Poll::poll",
                                        "tokio::runtime::io::driver::Driver::turn",
                                        *bottom[-7:]), 0.12),
        Stack(at("tracing_subscriber::fmt::format::Format<F,T>::format_event",
                 "tracing_core::event::Event::dispatch", "tower_http::trace::on_response"), 0.05),
    )


def fixed_heap(crate: str) -> tuple[Stack, ...]:
    """Long-lived allocations of any service: config, routing tables, buffers, the runtime."""
    return (
        Stack(("_rjem_je_malloc_default", "alloc::raw_vec::RawVec<T,A>::grow_one",
               f"{crate}::config::Settings::load", f"{crate}::main::{{{{closure}}}}", *_MAIN),
              3_200_000),
        Stack(("_rjem_je_malloc_default", "hashbrown::raw::RawTable<T,A>::reserve_rehash",
               f"{crate}::routes::build", f"{crate}::main::{{{{closure}}}}", *_MAIN), 9_400_000),
        Stack(("_rjem_je_malloc_default", "bytes::bytes_mut::BytesMut::reserve_inner",
               "hyper::proto::h1::io::Buffered<T,B>::poll_read_from_io", *HANDLER, *WORKER),
              6_300_000),
        Stack(("_rjem_je_malloc_default", "alloc::alloc::exchange_malloc",
               "tokio::runtime::task::core::Cell<T,S>::new",
               "tokio::runtime::task::raw::RawTask::new", "tokio::task::spawn::spawn",
               "hyper::server::conn::http1::Builder::serve_connection",
               *WORKER), 1_900_000),
        Stack(("_rjem_je_malloc_default", "alloc::raw_vec::RawVec<T,A>::grow_one",
               "tracing_subscriber::registry::sharded::Registry::new_span", *HANDLER, *WORKER),
              800_000),
    )
