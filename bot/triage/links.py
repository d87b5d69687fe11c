"""Links out from findings: "Open in Grafana" (Explore with the query and the window).

Pure functions over a step's result: the links are built from the configured Grafana URL and
the evidence's own query, never from anything a user typed.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from bot.config import LinksConfig
from bot.models import Evidence, Finding, Link, StepResult

__all__ = ["MAX_GRAFANA_LINKS", "explore_url", "trace_url", "with_grafana_links"]

#: Explore links per finding (one per distinct query).
MAX_GRAFANA_LINKS = 3
#: Trace links per finding (Tempo's traces, opened in Grafana).
MAX_TRACE_LINKS = 5
#: Evidence sources whose query Explore can run as it is.
_QUERY_SOURCES = ("prometheus", "loki")
_TRACE_ID = re.compile(r"\btrace ([0-9a-f]{16,32})\b")


def explore_url(grafana: str, datasource: str, kind: str, evidence: Evidence) -> str:
    """Grafana Explore (``panes`` form, Grafana 10+) on the evidence's query and window."""
    query = {"refId": "A", "expr": evidence.query or "",
             "datasource": {"type": kind, "uid": datasource}}
    pane: dict[str, object] = {"datasource": datasource, "queries": [query]}
    if evidence.window is not None:
        pane["range"] = {"from": str(int(evidence.window.start.timestamp() * 1000)),
                         "to": str(int(evidence.window.end.timestamp() * 1000))}
    else:
        pane["range"] = {"from": "now-1h", "to": "now"}
    panes = json.dumps({"a": pane}, separators=(",", ":"))
    return f"{grafana.rstrip('/')}/explore?schemaVersion=1&orgId=1&panes={quote(panes, safe='')}"


def trace_url(grafana: str, datasource: str, trace_id: str) -> str:
    """Grafana Explore on one trace of a Tempo data source."""
    query = {"refId": "A", "queryType": "traceql", "query": trace_id,
             "datasource": {"type": "tempo", "uid": datasource}}
    panes = json.dumps({"a": {"datasource": datasource, "queries": [query],
                              "range": {"from": "now-1h", "to": "now"}}}, separators=(",", ":"))
    return f"{grafana.rstrip('/')}/explore?schemaVersion=1&orgId=1&panes={quote(panes, safe='')}"


def _trace_links(finding: Finding, grafana: str, datasource: str | None) -> list[Link]:
    """Tempo has no UI of its own: its traces open in Grafana (Jaeger's link to Jaeger)."""
    if datasource is None:
        return []
    ids = [m.group(1) for e in finding.evidence if e.source == "tempo"
           for m in [_TRACE_ID.search(e.value)] if m]
    return [Link(title=f"Trace {trace_id[:8]} in Grafana",
                 url=trace_url(grafana, datasource, trace_id))
            for trace_id in dict.fromkeys(ids)][:MAX_TRACE_LINKS]


def _with_links(finding: Finding, links: LinksConfig) -> Finding:
    if links.grafana is None:
        return finding
    added: list[Link] = _trace_links(finding, links.grafana,
                                     links.grafana_datasources.get("tempo"))
    seen: set[tuple[str, str]] = set()
    for evidence in finding.evidence:
        datasource = links.grafana_datasources.get(evidence.source)
        key = (evidence.source, evidence.query or "")
        if (not evidence.query or datasource is None or key in seen
                or evidence.source not in _QUERY_SOURCES):
            continue
        seen.add(key)
        added.append(Link(title=f"Open in Grafana ({evidence.source})",
                          url=explore_url(links.grafana, datasource, evidence.source, evidence)))
        if len(seen) == MAX_GRAFANA_LINKS:
            break
    if not added:
        return finding
    return finding.model_copy(update={"links": [*finding.links, *added]})


def with_grafana_links(result: StepResult, links: LinksConfig | None) -> StepResult:
    """The result with an Explore link on every finding that has a query (when configured)."""
    if links is None or links.grafana is None:
        return result
    return result.model_copy(update={"findings": [_with_links(f, links)
                                                  for f in result.findings]})
