"""Links out from findings: "Open in Grafana" (Explore with the query and the window).

Pure functions over a step's result: the links are built from the configured Grafana URL and
the evidence's own query, never from anything a user typed.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from bot.config import LinksConfig
from bot.models import Evidence, Finding, Link, StepResult

__all__ = ["MAX_GRAFANA_LINKS", "explore_url", "with_grafana_links"]

#: Explore links per finding (one per distinct query).
MAX_GRAFANA_LINKS = 3


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


def _with_links(finding: Finding, links: LinksConfig) -> Finding:
    if links.grafana is None:
        return finding
    added: list[Link] = []
    seen: set[tuple[str, str]] = set()
    for evidence in finding.evidence:
        datasource = links.grafana_datasources.get(evidence.source)
        key = (evidence.source, evidence.query or "")
        if not evidence.query or datasource is None or key in seen:
            continue
        seen.add(key)
        added.append(Link(title=f"Open in Grafana ({evidence.source})",
                          url=explore_url(links.grafana, datasource, evidence.source, evidence)))
        if len(added) == MAX_GRAFANA_LINKS:
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
