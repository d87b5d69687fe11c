"""Block Kit as HTML, fed with what the bot's own renderers produce, hostile text included.

Every page is read back with the standard library's HTMLParser into a small tree, so the
assertions are about elements and their text, not about string fragments of markup.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.models import (
    AlertState,
    Candidate,
    Diagnosis,
    Evidence,
    Finding,
    Incident,
    Link,
    Severity,
    StepName,
    StepResult,
    StepStatus,
    Window,
)
from bot.slack.alert_blocks import alerts_section
from bot.slack.cards import incident_card
from bot.slack.diagnosis_blocks import diagnosis_blocks
from bot.slack.findings_blocks import step_message
from bot.slack.walk_blocks import walk_section
from triage_sim.export.html import (
    blocks_to_html,
    file_html,
    meta_html,
    mrkdwn_to_html,
    page_html,
    text_object_html,
)
from triage_sim.export.mrkdwn import Names

HOSTILE = "<script>alert(1)</script> <!channel> <@U0ALICE> & <https://evil.example|click>"
NAMES = Names(users={"U0ALICE": "alice"}, channels={"C0CHECKOUT": "checkout"})
T0 = datetime(2026, 3, 1, 10, 2, tzinfo=UTC)
VOID = frozenset({"br", "hr", "img", "meta"})
ALLOWED = frozenset({"div", "span", "b", "i", "s", "code", "pre", "a", "br", "blockquote",
                     "hr", "button", "img", "figure", "figcaption", "small"})


@dataclass
class Element:
    """An element read back from the page, with its children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.walk()

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.walk() if (tag is None or e.tag == tag)
                and (cls is None or cls in e.classes)]

    def one(self, tag: str | None = None, cls: str | None = None) -> Element:
        (found,) = self.all(tag, cls)
        return found


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack = [self.root]
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if len(self.stack) < 2 or self.stack[-1].tag != tag:
            self.problems.append(f"unexpected </{tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def read_html(html: str) -> Element:
    """The page as a tree; fails when a tag is left open or closed out of order."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    assert reader.problems == [], reader.problems
    assert [e.tag for e in reader.stack] == ["root"], "unclosed elements"
    return reader.root


def no_live_markup(html: str) -> None:
    lowered = html.lower()
    for raw in ("<script", "<!channel>", "<@u0alice>", "javascript:", "<https://evil"):
        assert raw not in lowered, raw
    assert 'href="https://evil.example' not in html


def incident(**changes: Any) -> Incident:
    base = Incident(id="INC-7", number=7, service="checkout", summary=f"RSS grows {HOSTILE}",
                    severity=Severity.CRITICAL, channel="C0CHECKOUT", created_at=T0,
                    created_by="alertmanager", source="alertmanager", assignee="U0ALICE")
    return base.model_copy(update=changes)


def alert_states() -> list[AlertState]:
    return [AlertState(fingerprint="f1", name="MemoryGrowth", status="firing",
                       labels={"service": "checkout", "pod": "checkout-7d9"},
                       annotations={"summary": f"RSS of {HOSTILE}"}, starts_at=T0)]


def diagnosis() -> Diagnosis:
    return Diagnosis(updated_at=T0, candidates=[
        Candidate(playbook="memory-leak", title="Unbounded cache growth", score=0.82,
                  supporting=["RSS slope 40 MiB/min", "<T as Debug>::fmt under a worker"],
                  contradicting=["no restarts"]),
        Candidate(playbook="task-leak", title="Task leak", score=0.31)])


def metrics_result() -> StepResult:
    evidence = [Evidence(label="RSS slope", value="40 MiB/min", source="prometheus",
                         query='deriv(process_resident_memory_bytes{service="checkout"}[5m])'),
                Evidence(label="time to OOM", value="12 min", source="prometheus")]
    finding = Finding(key="rss", step=StepName.METRICS, title="RSS grows steadily",
                      severity=Severity.CRITICAL, summary=f"Since 10:02 {HOSTILE}",
                      evidence=evidence, hints=["look at caches", HOSTILE],
                      links=[Link(title="Grafana", url="https://grafana.example/d/x?a=1&b=2"),
                             Link(title="bad", url="javascript:alert(1)")])
    return StepResult(step=StepName.METRICS, status=StepStatus.DONE, started_at=T0,
                      finished_at=T0 + timedelta(seconds=3), ran_by="U0ALICE",
                      window=Window(start=T0, end=T0 + timedelta(minutes=45)),
                      findings=[finding])


def test_card_shows_header_fields_and_buttons_with_their_styles() -> None:
    extra = alerts_section(alert_states()) + walk_section(
        {StepName.METRICS: StepStatus.DONE}, diagnosis(), "INC-7", suggested=StepName.LOGS)
    html = blocks_to_html(incident_card(incident(), extra=extra), NAMES)
    no_live_markup(html)
    page = read_html(html)
    assert page.one(cls="bk-header").text() == "INC-7 · checkout"
    fields = [f.text() for f in page.all(cls="bk-field")]
    assert fields[:4] == ["Severitycritical", "Status🚨 Open", "Assigned@alice",
                          "Declared2026-03-01 10:02 UTC by alertmanager"]
    assert "✅ 1. Metricsdone" in fields
    buttons = {b.text(): b for b in page.all("button")}
    assert list(buttons) == ["Re-run metrics", "Logs", "Traces", "Profile", "📝 Draft RCA",
                             "Assign to me", "Resolve"]
    assert all("disabled" in b.attrs for b in buttons.values())
    assert "bk-primary" in buttons["Logs"].classes
    assert "bk-danger" in buttons["Resolve"].classes
    assert buttons["Traces"].classes == {"bk-btn"}
    summary = page.all(cls="bk-text")[0]
    assert HOSTILE in summary.text()  # shown as the text it is
    assert summary.all("b")[0].text().startswith("RSS grows <script>")
    mentions = [m.text() for m in page.all(cls="mention")]
    assert mentions == ["@alice"]  # the assignee; the summary's <@U0ALICE> was escaped text
    assert "🎯" in page.text() and "Leading candidate:" in page.text()


def test_step_message_links_code_and_dead_links() -> None:
    _, blocks = step_message(metrics_result(), incident_id="INC-7", service="checkout")
    html = blocks_to_html(blocks, NAMES)
    no_live_markup(html)
    page = read_html(html)
    assert page.one(cls="bk-header").text() == "📊 Metrics · checkout"
    (link,) = page.all("a")
    assert link.attrs["href"] == "https://grafana.example/d/x?a=1&b=2"
    assert link.text() == "Grafana"
    assert 'href="https://grafana.example/d/x?a=1&amp;b=2"' in html
    assert "bad" in page.text()  # a javascript: link keeps its title, loses its target
    codes = [c.text() for c in page.all("code")]
    assert 'deriv(process_resident_memory_bytes{service="checkout"}[5m])' in codes
    assert "INC-7" in codes
    fields = [f.text() for f in page.all(cls="bk-field")]
    assert fields == ["RSS slope40 MiB/min", "time to OOM12 min"]
    assert "• look at caches" in page.text()
    assert [m.text() for m in page.all(cls="mention")] == ["@alice"]


def test_ranking_shows_medals_scores_and_reasons() -> None:
    page = read_html(blocks_to_html(diagnosis_blocks(diagnosis()), NAMES))
    text = page.text()
    assert "🥇" in text and "🥈" in text and "➕" in text and "➖" in text
    assert "<T as Debug>::fmt under a worker" in text
    assert [c.text() for c in page.all("code")] == ["memory-leak", "task-leak"]
    assert page.one(cls="bk-context").text().startswith("Ranked after the latest step")


@pytest.mark.parametrize(("mrkdwn", "html"), [
    ("*b* _i_ ~s~ `c`", "<b>b</b> <i>i</i> <s>s</s> <code>c</code>"),
    ("```\nx < y\n```", "<pre>x &lt; y</pre>"),
    ("a\nb", "a<br>b"),
    ("&lt;b&gt;bold?&lt;/b&gt; &amp;amp;", "&lt;b&gt;bold?&lt;/b&gt; &amp;amp;"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<https://x.example|x>", '<a href="https://x.example" rel="noopener noreferrer">x</a>'),
    ('<https://x.example/"onmouseover="alert(1)|x>',
     '<a href="https://x.example/&quot;onmouseover=&quot;alert(1)" '
     'rel="noopener noreferrer">x</a>'),
    ("<javascript:alert(1)|x>", '<span class="bk-deadlink">x</span>'),
    ("<@U0ALICE> <#C0CHECKOUT>", '<span class="mention mention-user">@alice</span> '
                                 '<span class="mention mention-channel">#checkout</span>'),
    ("<!channel>", '<span class="mention mention-broadcast">@channel</span>'),
    (":fire: :nope:", '<span class="emoji" title=":fire:">🔥</span> :nope:'),
    ("&gt; quoted", "<blockquote>quoted</blockquote>"),
])
def test_mrkdwn_to_html(mrkdwn: str, html: str) -> None:
    assert mrkdwn_to_html(mrkdwn, NAMES) == html


def test_random_hostile_text_never_yields_markup_of_its_own() -> None:
    alphabet = ["<", ">", "&", "amp;", "lt;", "gt;", "*", "_", "~", "`", "```", "\n", "|", "!",
                "@", "#", ":", "fire", "script", '"', "'", "=", " ", "a", "https://", "^",
                "javascript:", "\U000f0000"]
    rng = random.Random(7)
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        page = read_html(mrkdwn_to_html(text, NAMES))
        tags = {e.tag for e in page.walk()} - {"root"}
        assert tags <= {"b", "i", "s", "code", "pre", "a", "br", "blockquote", "span"}, text
        hrefs = [a.attrs["href"] for a in page.all("a")]
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), text


def image_block(**extra: Any) -> dict[str, Any]:
    return {"type": "image", "alt_text": "p99 <chart>", **extra}


def test_image_blocks_show_local_files_and_never_fetch_external_ones() -> None:
    blocks = [image_block(slack_file={"id": "F1"}, title={"type": "plain_text", "text": "P99"}),
              image_block(image_url="https://cdn.example/p99.png"),
              image_block(slack_file={"url": "https://files.slack.com/x"}),
              {"type": "context", "elements": [
                  {"type": "image", "slack_file": {"id": "F1"}, "alt_text": "tiny"},
                  {"type": "mrkdwn", "text": "*ctx*"}]}]
    page = read_html(blocks_to_html(blocks, NAMES, {"F1": "01-p99.png"}))
    images = page.all("img")
    assert [(i.attrs["src"], i.attrs["alt"]) for i in images] == [
        ("01-p99.png", "p99 <chart>"), ("01-p99.png", "tiny")]
    assert page.one("figcaption").text() == "P99"
    (external,) = page.all("a")
    assert external.attrs["href"] == "https://cdn.example/p99.png"
    assert all(not i.attrs["src"].startswith("http") for i in images)


def test_accessories_menus_and_link_buttons() -> None:
    placeholder = {"type": "plain_text", "text": "Pick a step"}
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "pick"},
         "accessory": {"type": "static_select", "action_id": "a", "placeholder": placeholder}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "more"},
         "accessory": {"type": "overflow", "action_id": "b", "options": []}},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Runbook"},
             "url": "https://runbooks.example/checkout", "action_id": "c"},
            {"type": "button", "text": {"type": "plain_text", "text": "Evil"},
             "url": "javascript:alert(1)", "action_id": "d"},
            {"type": "datepicker", "action_id": "e", "initial_date": "2026-03-01"},
            {"type": "static_select", "action_id": "f", "placeholder": placeholder,
             "initial_option": {"text": {"type": "plain_text", "text": "Logs"}, "value": "l"}},
        ]},
        {"type": "divider"},
    ]
    html = blocks_to_html(blocks, NAMES)
    no_live_markup(html)
    page = read_html(html)
    assert [s.text() for s in page.all(cls="bk-select")] == [
        "Pick a step ▾", "⋯", "2026-03-01 ▾", "Logs ▾"]
    assert len(page.all(cls="bk-with-accessory")) == 2
    (runbook,) = page.all("a")
    assert runbook.attrs["href"] == "https://runbooks.example/checkout"
    assert page.one("button").text() == "Evil"
    assert len(page.all("hr")) == 1


def test_rich_text_markdown_and_unknown_blocks() -> None:
    blocks = [
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "<b>not bold</b> ", "style": {"italic": True}},
            {"type": "user", "user_id": "U0ALICE"}]}]},
        {"type": "markdown", "text": "# Root cause\n- item **bold** and *it*\n"
                                     "[docs](https://docs.example) <script>x</script> & co\n"
                                     "```\nlet x = 1 < 2;\n```"},
        {"type": "video", "title": {"type": "plain_text", "text": "v"}},
        "not a block",
    ]
    html = blocks_to_html(blocks, NAMES)
    no_live_markup(html)
    page = read_html(html)
    rich = page.one(cls="bk-rich-text")
    assert rich.one("i").text() == "<b>not bold</b> "
    assert rich.one(cls="mention").text() == "@alice"
    markdown = page.one(cls="bk-markdown")
    assert [b.text() for b in markdown.all("b")] == ["Root cause", "bold"]
    assert markdown.one("i").text() == "it"
    assert markdown.one("a").attrs["href"] == "https://docs.example"
    assert markdown.one("pre").text() == "let x = 1 < 2;"
    assert "• item" in markdown.text() and "<script>x</script> & co" in markdown.text()
    assert page.one(cls="bk-unknown").text() == "[video block]"


def test_text_objects_plain_and_mrkdwn() -> None:
    plain = {"type": "plain_text", "text": "*lit* <b> :fire:", "emoji": True}
    assert text_object_html(plain) == '*lit* &lt;b&gt; <span class="emoji" title=":fire:">🔥</span>'
    assert text_object_html({"type": "mrkdwn", "text": "*b*"}) == "<b>b</b>"


def test_files_bylines_and_the_page_shell() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    image = read_html(file_html("P99 <latency>", "p99.png", "01-p99.png", png, alt="p99"))
    assert image.one("img").attrs == {"src": "01-p99.png", "alt": "p99"}
    assert image.one("figcaption").text() == "P99 <latency>"
    svg = read_html(file_html("s", "x.svg", "x.svg", b"<svg onload=alert(1)>", alt="s"))
    assert svg.all("img") == [] and svg.one("a").attrs["href"] == "x.svg"
    assert "not uploaded" in read_html(file_html("t", "n.md", None, None, alt="t")).text()
    byline = read_html(meta_html("triage-bot", True, T0, "edited 3 times"))
    assert byline.text() == "triage-botAPP10:02:00(edited 3 times)"
    assert byline.one("time").attrs["datetime"] == "2026-03-01T10:02:00Z"
    html = page_html("INC-7 <b>", "triage-test", "", "1 file", "<p>body</p>")
    assert "<script" not in html and "<title>INC-7 &lt;b&gt;</title>" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
