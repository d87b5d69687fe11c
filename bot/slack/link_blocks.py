"""The card's links out: the rule in Prometheus, the runbook, the dashboard, Alertmanager."""

from __future__ import annotations

from bot.models import CardView, Link
from bot.models.silence import alerts_page_url
from bot.slack.blocks import Block, context
from bot.slack.findings_blocks import link_text

__all__ = ["card_links", "links_section"]

#: Annotations that carry a link, and what the card calls them.
_ANNOTATIONS = (("runbook_url", "Runbook"), ("dashboard_url", "Dashboard"))


def card_links(view: CardView) -> list[Link]:
    """Runbook, dashboard, alert rule (the firing alerts' first), then Alertmanager's page."""
    states = sorted(view.alerts, key=lambda s: s.status != "firing")
    found: dict[str, str] = {}
    for state in states:
        for key, title in _ANNOTATIONS:
            found[title] = found.get(title) or state.annotations.get(key, "")
        found["Alert rule"] = found.get("Alert rule") or state.generator_url
    links = [Link(title=title, url=url) for title, url in found.items() if url]
    if view.alertmanager_url and view.incident.labels:
        links.append(Link(title="Alertmanager",
                          url=alerts_page_url(view.alertmanager_url, view.incident.labels)))
    return links


def links_section(view: CardView) -> list[Block]:
    """One context line of links, or nothing."""
    links = card_links(view)
    return [context(link_text(links))] if links else []
