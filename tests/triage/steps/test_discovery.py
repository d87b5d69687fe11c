"""Metric discovery: pool, queue and Tokio series found by name and metadata type."""

from __future__ import annotations

import pytest

from bot.errors import TriageError
from bot.sources.prometheus import parse_metadata_answer
from bot.triage.discovery import discover
from bot.triage.steps.metric_findings import series_used
from bot.triage.steps.metric_queries import series_queries

NAMES = {
    "sqlx_pool_connections_in_use", "sqlx_pool_connections_max", "sqlx_pool_connections_idle",
    "sqlx_pool_acquire_duration_seconds_bucket", "sqlx_pool_acquire_duration_seconds_count",
    "sqlx_pool_acquire_duration_seconds_sum", "runtime_num_alive_tasks",
    "runtime_worker_busy_ratio", "axum_http_requests_total", "process_cpu_seconds_total",
}
TYPES = {"sqlx_pool_connections_in_use": "gauge", "sqlx_pool_connections_max": "gauge",
         "sqlx_pool_acquire_duration_seconds": "histogram", "runtime_num_alive_tasks": "gauge"}


def test_pool_and_runtime_series_are_found_under_other_names() -> None:
    found = discover(NAMES, TYPES, ["pool_wait_bucket", "pool_in_use", "pool_max",
                                    "tokio_live_tasks", "tokio_busy_ratio", "tokio_workers"])
    assert {role: d.name for role, d in found.items()} == {
        "pool_wait_bucket": "sqlx_pool_acquire_duration_seconds_bucket",
        "pool_in_use": "sqlx_pool_connections_in_use",
        "pool_max": "sqlx_pool_connections_max",
        "tokio_live_tasks": "runtime_num_alive_tasks",
        "tokio_busy_ratio": "runtime_worker_busy_ratio",
    }
    assert "a histogram (metadata)" in found["pool_wait_bucket"].reason
    assert "by its name (no metadata)" in found["tokio_busy_ratio"].reason


def test_metadata_of_another_type_vetoes_a_name_match() -> None:
    found = discover({"db_pool_in_use_total"}, {"db_pool_in_use": "counter"}, ["pool_in_use"])
    assert found == {}  # a counter's _total is not a gauge of connections in use
    typed = discover({"db_pool_busy"}, {"db_pool_busy": "counter"}, ["pool_in_use"])
    assert typed == {}
    assert discover(NAMES, TYPES, ["no_such_role"]) == {}


def test_discovered_pool_gauges_give_the_utilisation_query() -> None:
    roles = {"pool_in_use": "sqlx_pool_connections_in_use",
             "pool_max": "sqlx_pool_connections_max"}
    (query,) = [q for q in series_queries(roles, {"job": "ledger"})
                if q.key == "pool_utilisation"]
    assert query.promql == ('sum(sqlx_pool_connections_in_use{job="ledger"}) / '
                            'sum(sqlx_pool_connections_max{job="ledger"})')


def test_the_metrics_step_states_which_series_it_used() -> None:
    finding = series_used({"pool_in_use": "sqlx_pool_connections_in_use",
                           "cpu_seconds": "process_cpu_seconds_total",
                           "rss": "my_rss_bytes"}, {"rss": "my_rss_bytes"})
    assert finding.title == "Series used: 3 metrics, 1 found by discovery"
    sources = {e.label: (e.value, e.source) for e in finding.evidence}
    assert sources == {
        "cpu_seconds": ("process_cpu_seconds_total", "metrics step: known exporter name"),
        "pool_in_use": ("sqlx_pool_connections_in_use",
                        "metrics step: discovered (name and metadata)"),
        "rss": ("my_rss_bytes", "metrics step: pinned in the catalog"),
    }


def test_metadata_answers_are_parsed_leniently_and_errors_raise() -> None:
    answer = {"status": "success", "data": {
        "sqlx_pool_connections_in_use": [{"type": "gauge", "help": "h", "unit": ""}],
        "broken": [], "odd": ["x"]}}
    assert parse_metadata_answer(answer) == {"sqlx_pool_connections_in_use": "gauge"}
    with pytest.raises(TriageError):
        parse_metadata_answer({"status": "error", "errorType": "bad_data", "error": "no"})
