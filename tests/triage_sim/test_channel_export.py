"""A played incident exported as a folder (page + files) and printed as a transcript.

The incident is played once per module the way the bot plays it: the bot's renderers, posted
through slack_sdk's AsyncWebClient into the Slack stand-in (chat.postMessage, chat.update,
files_upload_v2 with a real chart PNG), then exported into a fresh folder per test.
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from slack_sdk.web.async_client import AsyncWebClient

from bot.models import Chart, ChartSeries, StepName, StepStatus
from bot.slack.alert_blocks import alerts_section
from bot.slack.cards import card_text, incident_card
from bot.slack.charts import chart_filename, render_chart
from bot.slack.diagnosis_blocks import diagnosis_blocks, diagnosis_text
from bot.slack.findings_blocks import step_message
from bot.slack.walk_blocks import walk_section
from tests.triage_sim.test_blockkit_html import (
    HOSTILE,
    T0,
    Element,
    alert_states,
    diagnosis,
    incident,
    metrics_result,
    no_live_markup,
    read_html,
)
from triage_sim.export.channel import (
    ExportResult,
    blocks_to_text,
    channel_threads,
    channel_transcript,
    export_channel,
    safe_file_name,
)
from triage_sim.export.mrkdwn import Names
from triage_sim.slack.records import Message
from triage_sim.slack.standin import SlackStandIn

CHANNEL = "C0CHECKOUT"
OTHER = "C0PAYMENTS"
ALICE = "U0ALICE"
RCA = b"# INC-7 RCA\n\n## Root cause\n\nAn unbounded cache.\n"
SECRET = "only alice sees this"


@dataclass(frozen=True)
class Played:
    """The stand-in after the incident (stopped; its memory stays readable)."""

    slack: SlackStandIn
    card_ts: str


def small_chart() -> bytes:
    points = [(T0.timestamp() + 60 * k, 2e8 + 4e7 * k) for k in range(30)]
    return render_chart(Chart(title="RSS of checkout", unit="bytes",
                              series=[ChartSeries(label="checkout-7d9", points=points)]))


async def play(slack: SlackStandIn, client: AsyncWebClient) -> str:
    """Card, metrics findings, a chart, the ranking, two card updates, a person, the RCA."""
    states, inc = alert_states(), incident(assignee=None)
    fresh = alerts_section(states) + walk_section({}, None, inc.id, suggested=StepName.METRICS)
    card = await client.chat_postMessage(channel=CHANNEL, text=card_text(inc),
                                         blocks=incident_card(inc, extra=fresh))
    ts = str(card["ts"])
    text, blocks = step_message(metrics_result(), incident_id=inc.id, service="checkout")
    await client.chat_postMessage(channel=CHANNEL, thread_ts=ts, text=text, blocks=blocks)
    png = small_chart()
    for step in ("metrics", "profile"):  # the same chart file name twice: both must survive
        await client.files_upload_v2(
            file_uploads=[{"content": png, "filename": chart_filename(0, "RSS of checkout"),
                           "title": f"RSS of checkout ({step})"}],
            channel=CHANNEL, thread_ts=ts, initial_comment=f"Charts: {step}")
    await client.chat_postMessage(channel=CHANNEL, thread_ts=ts, text=diagnosis_text(diagnosis()),
                                  blocks=diagnosis_blocks(diagnosis()))
    walked = alerts_section(states) + walk_section(
        {StepName.METRICS: StepStatus.DONE}, diagnosis(), inc.id, suggested=StepName.LOGS)
    for version in (inc, incident()):
        await client.chat_update(channel=CHANNEL, ts=ts, text=card_text(version),
                                 blocks=incident_card(version, extra=walked))
    slack.add_user_message(CHANNEL, "<script>alert(1)</script> <!channel> on it <@U0TRIAGEBOT>",
                           ALICE, thread_ts=ts)
    await client.files_upload_v2(content=RCA, filename="INC-7 RCA.md", title="RCA draft",
                                 channel=CHANNEL, thread_ts=ts)
    await client.chat_postEphemeral(channel=CHANNEL, user=ALICE, text=SECRET)
    await client.chat_postMessage(channel=CHANNEL, text="Digest: *1 open* in <#C0CHECKOUT>")
    return ts


@pytest.fixture(scope="module")
def played() -> Played:
    async def run() -> Played:
        async with SlackStandIn() as slack:
            slack.add_channel(CHANNEL, "checkout")
            slack.add_user(ALICE, "alice", "Alice Example")
            client = AsyncWebClient(token="xoxb-test-token", base_url=slack.api_url)
            try:
                card_ts = await play(slack, client)
            finally:
                if client.session is not None:
                    await client.session.close()
        return Played(slack, card_ts)

    return asyncio.run(run())


@pytest.fixture
def exported(played: Played, tmp_path: Path) -> tuple[ExportResult, Element, str]:
    result = export_channel(played.slack, [CHANNEL], tmp_path / "out" / "inc-7",
                            title="INC-7 · checkout",
                            extra_files={"rca.md": RCA, "../../index.html": b"not the page"})
    html = result.index_html.read_text(encoding="utf-8")
    return result, read_html(html), html


def articles(node: Element) -> list[Element]:
    return [e for e in node.children if isinstance(e, Element) and e.tag == "article"]


def test_folder_holds_the_page_the_charts_and_the_files(
    exported: tuple[ExportResult, Element, str],
) -> None:
    result, page, _ = exported
    out = result.directory
    assert sorted(p.name for p in out.iterdir()) == [
        "01-rss-of-checkout-2.png", "01-rss-of-checkout.png", "INC-7-RCA.md", "index-2.html",
        "index.html", "rca.md"]
    assert [p.name for p in result.images] == ["01-rss-of-checkout.png", "01-rss-of-checkout-2.png"]
    assert [p.name for p in result.attachments] == ["INC-7-RCA.md"]
    assert [p.name for p in result.extra] == ["rca.md", "index-2.html"]
    assert result.paths[0] == result.index_html and len(result.paths) == 6
    assert (out / "INC-7-RCA.md").read_bytes() == RCA
    assert result.messages == 8
    sources = [img.attrs["src"] for img in page.all("img")]
    assert sources == ["01-rss-of-checkout.png", "01-rss-of-checkout-2.png"]
    for source in sources:
        with Image.open(io.BytesIO((out / source).read_bytes())) as picture:
            assert picture.format == "PNG" and picture.size == (800, 320)
    links = {a.attrs["href"] for a in page.all("a")}
    assert {"INC-7-RCA.md", "rca.md", "index-2.html", f"#c-{CHANNEL}"} <= links


def test_page_draws_the_card_latest_version_with_its_thread_under_it(
    played: Played, exported: tuple[ExportResult, Element, str],
) -> None:
    _, page, _ = exported
    channel = page.one("section", "channel")
    assert channel.attrs["id"] == f"c-{CHANNEL}"
    assert channel.one(cls="channel-head").text() == "#checkout8 messages · times in UTC"
    card, digest = articles(channel)
    assert card.attrs["id"] == "m-" + played.card_ts.replace(".", "-")
    meta = card.all(cls="meta")[0]
    assert meta.one(cls="author").text() == "triage-bot"
    assert meta.one(cls="badge").text() == "APP"
    assert meta.one(cls="edited").text() == "(edited 2 times)"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", meta.one("time").text())
    assert card.all(cls="bk-header")[0].text() == "INC-7 · checkout"
    fields = [f.text() for f in card.all(cls="bk-field")]
    assert "Assigned@alice" in fields  # the second update assigned alice
    assert "✅ 1. Metricsdone" in fields
    thread = card.one(cls="thread")
    assert thread.one(cls="thread-head").text() == "6 replies"
    replies = articles(thread)
    assert [r.one(cls="author").text() for r in replies] == [
        "triage-bot", "triage-bot", "triage-bot", "triage-bot", "Alice Example", "triage-bot"]
    assert all("reply" in r.classes for r in replies)
    assert replies[4].all(cls="badge") == []
    assert replies[1].one(cls="file-title").text() == "RSS of checkout (metrics)"
    assert replies[-1].one("a", "file-link").attrs["href"] == "INC-7-RCA.md"
    assert "Digest:" in digest.text() and digest.one(cls="mention").text() == "#checkout"


def test_page_is_safe_and_leaves_out_ephemerals(
    exported: tuple[ExportResult, Element, str],
) -> None:
    _, page, html = exported
    no_live_markup(html)
    assert "<script" not in html.lower() and "onload" not in html.lower()
    assert SECRET not in html
    assert HOSTILE in page.text()
    person = [a for a in page.all("article") if a.all(cls="author")[0].text() == "Alice Example"]
    assert person[0].one(cls="msg-text").text() == (
        "<script>alert(1)</script> @channel on it @triage-bot")
    assert [m.text() for m in person[0].all(cls="mention")] == ["@channel", "@triage-bot"]
    assert "default-src 'none'" in html


def test_transcript_reads_like_the_channel(played: Played) -> None:
    text = channel_transcript(played.slack, CHANNEL)
    lines = text.splitlines()
    assert lines[0] == "#checkout · 8 messages · times in UTC"
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] triage-bot: INC-7 · checkout  \(edited 2 times\)",
                        lines[1])
    body = "\n".join(lines)
    for expected in ("    Severity: critical", "    Assigned: @alice", "    Status: 🚨 Open",
                     "    ✅ 1. Metrics: done", "    ⚪ 2. Logs: not started · suggested next",
                     "    [Re-run metrics] [Logs] [Traces] [Profile] [📝 Draft RCA]",
                     "    [Assign to me] [Resolve]",
                     "        (file: 01-rss-of-checkout.png)",
                     "        RSS slope: 40 MiB/min"):
        assert expected in lines, expected
    replies = [line for line in lines if line.startswith("  ↳ [")]
    assert len(replies) == 6
    assert re.fullmatch(r"  ↳ \[\d\d:\d\d:\d\d\] triage-bot: 📊 Metrics · checkout", replies[0])
    assert replies[5].endswith("triage-bot: (file: INC-7 RCA.md)")  # a file alone: on the head
    assert replies[4].endswith("Alice Example: <script>alert(1)</script> @channel on it "
                               "@triage-bot")
    assert "Grafana (https://grafana.example/d/x?a=1&b=2)" in " ".join(body.split())
    assert re.search(r"^\[\d\d:\d\d:\d\d\] triage-bot: Digest: 1 open in #checkout$", body, re.M)
    assert SECRET not in text and "&amp;" not in text and "&lt;" not in text
    assert max(len(line) for line in lines) <= 100
    assert max(len(line) for line in channel_transcript(
        played.slack, CHANNEL, width=60).splitlines()) <= 60


@pytest.mark.parametrize(("name", "expected"), [
    ("01-p99.png", "01-p99.png"),
    ("../../etc/passwd", "passwd"),
    ("C:\\temp\\x.png", "x.png"),
    (".hidden", "hidden"),
    ("INC 7 <RCA>.md", "INC-7-RCA.md"),
    ("ünïcödé.md", "n-c-d.md"),
    ("", "file"),
    ("...", "file"),
    ("INDEX.HTML", "INDEX-2.HTML"),
    ("x" * 300 + ".png", "x" * 96 + ".png"),
    ("notes." + "y" * 20, "notes." + "y" * 20),
])
def test_safe_file_names(name: str, expected: str) -> None:
    assert safe_file_name(name, {"index.html"}) == expected


def test_safe_file_names_stay_unique() -> None:
    taken: set[str] = set()
    names = [safe_file_name(n, taken) for n in ("a.png", "A.png", "a.png", "a", "a")]
    assert names == ["a.png", "A-2.png", "a-3.png", "a", "a-2"]


def message(ts: str, text: str, *, thread_ts: str | None = None, user: str = ALICE,
            **extra: Any) -> Message:
    return Message(CHANNEL, ts, text, user, thread_ts=thread_ts, via="user", **extra)


def test_deleted_parents_days_and_several_channels(tmp_path: Path) -> None:
    slack = SlackStandIn()
    slack.add_channel(CHANNEL, "checkout")
    slack.add_channel(OTHER, "payments")
    slack.add_user(ALICE, "alice", "Alice Example")
    day1 = T0.timestamp()
    day2 = (T0 + timedelta(days=1)).timestamp()
    for m in (message(f"{day1:.6f}", "parent"),
              message(f"{day1 + 5:.6f}", "reply to a deleted parent", thread_ts=f"{day1:.6f}"),
              message(f"{day2:.6f}", "next day"),
              Message(OTHER, f"{day2 + 1:.6f}", "from a stranger", "U0STRANGER")):
        slack.ws.append_message(m)
    slack.ws.delete_message(CHANNEL, f"{day1:.6f}")
    threads = channel_threads(slack, CHANNEL)
    assert [(t.parent is None, len(t.replies)) for t in threads] == [(True, 1), (False, 0)]
    result = export_channel(slack, [CHANNEL, OTHER], tmp_path, title="two channels")
    page = read_html(result.index_html.read_text(encoding="utf-8"))
    assert [s.attrs["id"] for s in page.all("section")] == [f"c-{CHANNEL}", f"c-{OTHER}"]
    assert [d.text() for d in page.all(cls="day")] == [
        "Sunday, 1 March 2026", "Monday, 2 March 2026", "Monday, 2 March 2026"]
    assert "was deleted" in page.one(cls="orphan").text()
    assert [a.text() for a in page.one("nav").all("a")] == ["#checkout", "#payments"]
    assert result.messages == 3 and result.images == () and result.extra == ()
    assert channel_transcript(slack, CHANNEL) == (
        "#checkout · 2 messages · times in UTC\n"
        "(the message that started this thread was deleted)\n"
        "  ↳ [10:02:05] Alice Example: reply to a deleted parent\n"
        "[10:02:00] Alice Example: next day\n")
    assert channel_transcript(slack, OTHER).splitlines()[1] == (
        "[10:02:01] U0STRANGER: from a stranger")


def test_blocks_to_text_for_every_kind_of_block() -> None:
    blocks: list[Any] = [
        {"type": "header", "text": {"type": "plain_text", "text": ":fire: Title"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*lead* &amp; more"},
         "fields": [{"type": "mrkdwn", "text": "*p99*\n2.3 s"},
                    {"type": "mrkdwn", "text": "_one line only_"}],
         "accessory": {"type": "overflow", "action_id": "o", "options": []}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "`INC-7`"},
                                         {"type": "image", "image_url": "https://x/i.png",
                                          "alt_text": "icon"}]},
        {"type": "divider"},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Logs"}, "action_id": "l"},
            {"type": "static_select", "action_id": "s",
             "placeholder": {"type": "plain_text", "text": "Pick"}},
            {"type": "datepicker", "action_id": "d"}]},
        {"type": "image", "image_url": "https://x/p.png", "alt_text": "p99 chart"},
        {"type": "markdown", "text": "## Fix\n- bound the cache"},
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "rich"}]}]},
        {"type": "video"},
        "junk",
    ]
    assert blocks_to_text(blocks, Names()) == [
        "🔥 Title", "lead & more", "p99: 2.3 s", "one line only", "[⋯]", "INC-7  (image: icon)",
        "─" * 40, "[Logs] [Pick ▾] [datepicker ▾]", "(image: p99 chart)", "Fix",
        "• bound the cache", "rich", "[video block]"]
