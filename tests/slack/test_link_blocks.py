"""The card's links out: runbook, dashboard, alert rule, Alertmanager; never a live bad link."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import AlertState, CardView, Incident
from bot.slack.card_view import render_card
from bot.slack.link_blocks import card_links, links_section

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def state(name: str, status: str = "firing", **annotations: str) -> AlertState:
    generator = annotations.pop("generator", "")
    return AlertState(fingerprint=name, name=name, status=status,  # type: ignore[arg-type]
                      labels={"alertname": name}, annotations=annotations, starts_at=AT,
                      generator_url=generator)


def incident(**labels: str) -> Incident:
    return Incident(id="INC-1", number=1, service="checkout", summary="p99", channel="C1",
                    labels=labels)


def test_links_from_annotations_rule_and_alertmanager() -> None:
    view = CardView(incident=incident(service="checkout", alertname="HighP99"), alerts=(
        state("Old", status="resolved", runbook_url="http://wiki/old"),
        state("HighP99", runbook_url="http://wiki/p99", dashboard_url="http://grafana/d/x",
              generator="http://prometheus:9090/graph?g0.expr=up")),
        alertmanager_url="http://am:9093")
    links = {link.title: link.url for link in card_links(view)}
    assert links == {
        "Runbook": "http://wiki/p99", "Dashboard": "http://grafana/d/x",
        "Alert rule": "http://prometheus:9090/graph?g0.expr=up",
        "Alertmanager": "http://am:9093/#/alerts?filter="
                        "%7Balertname%3D%22HighP99%22%2Cservice%3D%22checkout%22%7D"}
    card = str(render_card(view).blocks)
    assert "<http://wiki/p99|Runbook>" in card


def test_links_that_could_forge_or_run_something_are_not_live() -> None:
    view = CardView(incident=incident(), alerts=(
        state("A", runbook_url="javascript:alert(1)",
              dashboard_url="http://grafana/d/x|<!channel>"),))
    [block] = links_section(view)
    text = block["elements"][0]["text"]
    assert "<javascript" not in text and "Runbook" in text
    assert "<!channel>" not in text and "%7C%3C!channel%3E" in text


def test_no_links_no_block() -> None:
    assert links_section(CardView(incident=incident())) == []
