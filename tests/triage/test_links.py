""""Open in Grafana": Explore on the finding's own query and window, only when configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from bot.config import LinksConfig
from bot.models import Evidence, Finding, StepName, StepResult, StepStatus, Window
from bot.triage.links import with_grafana_links

WINDOW = Window(start=datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
                end=datetime(2026, 11, 27, 11, 0, tzinfo=UTC))


def result(*evidence: Evidence) -> StepResult:
    return StepResult(step=StepName.METRICS, status=StepStatus.DONE, findings=[
        Finding(key="k", step=StepName.METRICS, title="p99", evidence=list(evidence))])


def test_explore_link_carries_query_datasource_and_window() -> None:
    query = 'histogram_quantile(0.99, rate(http_seconds_bucket{job="checkout"}[5m]))'
    done = with_grafana_links(
        result(Evidence(label="p99", value="2s", source="prometheus", query=query,
                        window=WINDOW),
               Evidence(label="p99 again", value="2s", source="prometheus", query=query),
               Evidence(label="note", value="x", source="catalog")),
        LinksConfig(grafana="https://grafana.example", grafana_datasources={"prometheus": "P1"}))
    [link] = done.findings[0].links
    assert link.title == "Open in Grafana (prometheus)"
    parts = urlsplit(link.url)
    assert (parts.netloc, parts.path) == ("grafana.example", "/explore")
    pane = json.loads(parse_qs(parts.query)["panes"][0])["a"]
    assert pane["queries"][0]["expr"] == query and pane["datasource"] == "P1"
    assert pane["range"] == {"from": "1795773600000", "to": "1795777200000"}


def test_without_grafana_or_query_nothing_is_added() -> None:
    plain = result(Evidence(label="p99", value="2s", source="prometheus", query="up"))
    assert with_grafana_links(plain, None) == plain
    assert with_grafana_links(plain, LinksConfig()) == plain
    no_query = result(Evidence(label="p99", value="2s", source="prometheus"))
    assert with_grafana_links(no_query, LinksConfig(grafana="http://g")) == no_query


def test_tempo_traces_open_in_grafana_and_their_search_is_not_run_as_a_query() -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    done = with_grafana_links(result(
        Evidence(label="checkout: POST /pay", value=f"2.1 s · trace {trace_id} · error",
                 source="tempo", query="a search for slow traces"),
        Evidence(label="checkout: GET /", value=f"1.9 s · trace {trace_id}", source="tempo",
                 query="a search for slow traces")),
        LinksConfig(grafana="http://g", grafana_datasources={"tempo": "T1"}))
    [link] = done.findings[0].links
    assert link.title == "Trace 4bf92f35 in Grafana"
    pane = json.loads(parse_qs(urlsplit(link.url).query)["panes"][0])["a"]
    assert pane["queries"][0]["query"] == trace_id and pane["datasource"] == "T1"
