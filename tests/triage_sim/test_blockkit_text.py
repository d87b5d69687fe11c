"""Slack's text formats read into nodes, and those nodes as plain text.

Inputs are what Slack stores: entities for ``& < >``, ``<...>`` for its own markup; the bot's
renderers (``bot.slack.blocks.escape``) produce exactly that, so their output is used where
it matters.
"""

from __future__ import annotations

import pytest

from bot.slack.blocks import escape
from bot.slack.cards import slack_date
from triage_sim.export.mrkdwn import (
    BREAK,
    EMOJI,
    Code,
    Emoji,
    Link,
    Mention,
    Names,
    Quote,
    Styled,
    Text,
    nodes_to_text,
    parse_mrkdwn,
    parse_rich_text,
    parse_text_object,
    safe_url,
    text_lines,
)
from triage_sim.slack.standin import SlackStandIn

NAMES = Names(users={"U0ALICE": "alice"}, channels={"C0CHECKOUT": "checkout"})


def text_of(mrkdwn: str) -> str:
    return nodes_to_text(parse_mrkdwn(mrkdwn, NAMES))


@pytest.mark.parametrize(("mrkdwn", "expected"), [
    ("*bold* _italic_ ~gone~ `code`", "bold italic gone code"),
    ("a &amp; b &lt;tag&gt;", "a & b <tag>"),
    ("&amp;lt; stays an entity once decoded", "&lt; stays an entity once decoded"),
    ("<@U0ALICE> <@U0BOB|bob> <@U0NOBODY>", "@alice @bob @U0NOBODY"),
    ("<#C0CHECKOUT> <#C0OTHER|other> <#C0X>", "#checkout #other #C0X"),
    ("<!here> <!channel> <!everyone> <!subteam^S0ONCALL|@oncall>",
     "@here @channel @everyone @oncall"),
    ("<!date^1772359320^{date_short_pretty} {time}|2026-03-01 10:02 UTC>", "2026-03-01 10:02 UTC"),
    ("<!date^1772359320^{date}>", "2026-03-01 10:02 UTC"),
    ("<https://grafana.example/d?a=1&amp;b=2|Grafana>", "Grafana (https://grafana.example/d?a=1&b=2)"),
    ("<https://grafana.example/>", "https://grafana.example/"),
    ("<mailto:oncall@example.com|oncall@example.com>", "oncall@example.com"),
    ("<javascript:alert(1)|click>", "click"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    (":rotating_light: :fire::fire: :no_such_emoji:", "🚨 🔥🔥 :no_such_emoji:"),
    ("std::x::y and <T as core::fmt::Debug>", "std::x::y and <T as core::fmt::Debug>"),
    ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
    ("`a *not bold* <@U0ALICE>`", "a *not bold* <@U0ALICE>"),
    ("* not bold * and _ not italic _", "* not bold * and _ not italic _"),
])
def test_mrkdwn_as_plain_text(mrkdwn: str, expected: str) -> None:
    assert text_of(mrkdwn) == expected


def test_every_emoji_the_renderers_use_is_known() -> None:
    used = ["rotating_light", "red_circle", "large_orange_circle", "large_yellow_circle",
            "large_blue_circle", "white_circle", "white_check_mark", "fire", "memo",
            "bust_in_silhouette", "warning", "alarm_clock", "hourglass_flowing_sand", "dart",
            "grey_question", "mag", "chart_with_upwards_trend", "x", "bar_chart", "scroll",
            "link", "heavy_plus_sign", "heavy_minus_sign", "first_place_medal",
            "second_place_medal", "third_place_medal", "heartbeat", "sunrise"]
    assert [name for name in used if name not in EMOJI] == []


def test_styles_nest_and_code_is_opaque() -> None:
    nodes = parse_mrkdwn("*a _b_ `*c*`* done", NAMES)
    assert nodes == (
        Styled("b", (Text("a "), Styled("i", (Text("b"),)), Text(" "), Code("*c*"))),
        Text(" done"),
    )


def test_markup_inside_bold_stays_markup() -> None:
    nodes = parse_mrkdwn("*<@U0ALICE> on <https://x.example|x>*", NAMES)
    assert nodes == (Styled("b", (Mention("user", "@alice"), Text(" on "),
                                  Link("https://x.example", "x"))),)


def test_unsafe_link_keeps_its_label_but_loses_its_target() -> None:
    (link,) = parse_mrkdwn("<javascript:alert(1)|click me>")
    assert link == Link(None, "click me")
    assert safe_url("file:///etc/passwd") is None
    assert safe_url("https://") is None
    assert safe_url(" https://ok.example ") == "https://ok.example"


def test_code_block_takes_its_own_lines_without_extra_breaks() -> None:
    nodes = parse_mrkdwn("before\n```\nline 1\n  *line* 2\n```\nafter")
    assert nodes == (Text("before"), Code("line 1\n  *line* 2", block=True), Text("after"))
    assert text_lines(nodes) == ["before", "line 1", "  *line* 2", "after"]


def test_quotes_gather_consecutive_lines() -> None:
    nodes = parse_mrkdwn("said:\n&gt; one\n&gt; two\nend")
    assert nodes == (Text("said:"), Quote((Text("one"), BREAK, Text("two"))), Text("end"))
    assert text_lines(nodes) == ["said:", "│ one", "│ two", "end"]


def test_newlines_become_breaks_and_blank_edges_are_trimmed() -> None:
    assert parse_mrkdwn("a\n\nb") == (Text("a"), BREAK, BREAK, Text("b"))
    assert text_lines(parse_mrkdwn("\n\n a  \n\nb\n\n")) == [" a", "", "b"]
    assert text_lines(()) == []


def test_private_use_characters_in_input_cannot_reach_placeholders() -> None:
    sneaky = "\U000f0000 <@U0ALICE> \U000f0001"
    assert text_of(sneaky) == "\ufffd @alice \ufffd"


def test_the_bots_escaped_hostile_text_reads_back_verbatim() -> None:
    hostile = "<!channel> <@U0ALICE> & `tick` <https://evil.example|click> <script>x</script>"
    nodes = parse_mrkdwn(escape(hostile), NAMES)
    assert {type(n) for n in nodes} == {Text, Code}  # backticks are formatting, nothing else
    assert nodes_to_text(nodes) == hostile.replace("`", "")


def test_slack_date_of_the_card_reads_as_its_fallback() -> None:
    from datetime import UTC, datetime

    from bot.models import Incident

    incident = Incident(id="INC-7", number=7, service="checkout", summary="s",
                        channel="C0CHECKOUT", created_at=datetime(2026, 3, 1, 10, 2, tzinfo=UTC))
    assert text_of(slack_date(incident)) == "2026-03-01 10:02 UTC"


@pytest.mark.parametrize(("obj", "expected"), [
    ({"type": "plain_text", "text": ":fire: *not bold* &amp;", "emoji": True},
     "🔥 *not bold* &amp;"),
    ({"type": "plain_text", "text": ":fire:", "emoji": False}, ":fire:"),
    ({"type": "mrkdwn", "text": ":fire: *bold* &amp;"}, "🔥 bold &"),
    (None, ""),
    ("not an object", ""),
])
def test_text_objects(obj: object, expected: str) -> None:
    assert nodes_to_text(parse_text_object(obj, NAMES)) == expected


def test_rich_text_sections_lists_quotes_and_code() -> None:
    block = {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "text", "text": "Hi "},
            {"type": "user", "user_id": "U0ALICE"},
            {"type": "text", "text": " look", "style": {"bold": True, "italic": True}},
            {"type": "emoji", "name": "eyes"},
            {"type": "link", "url": "https://x.example", "text": "here"},
            {"type": "broadcast", "range": "channel"},
            {"type": "channel", "channel_id": "C0CHECKOUT"},
        ]},
        {"type": "rich_text_list", "style": "ordered", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "first"}]},
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "second"}]},
        ]},
        {"type": "rich_text_list", "style": "bullet", "indent": 1, "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "point"}]},
        ]},
        {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "a <b>\nc"}]},
        {"type": "rich_text_section", "elements": [
            {"type": "date", "timestamp": 1772359320, "format": "{date}", "fallback": "1 March"},
            {"type": "text", "text": " code", "style": {"code": True}},
        ]},
    ]}
    nodes = parse_rich_text(block, NAMES)
    assert Styled("b", (Styled("i", (Text(" look"),)),)) in nodes
    assert Emoji("eyes", "👀") in nodes
    assert Code("a <b>\nc", block=True) in nodes
    assert text_lines(nodes) == [
        "Hi @alice look👀here (https://x.example)@channel#checkout",
        "1. first", "2. second", "    • point",
        "│ quoted", "a <b>", "c", "1 March code",
    ]


def test_rich_text_ignores_what_it_does_not_know() -> None:
    block = {"type": "rich_text", "elements": [
        "junk", {"type": "rich_text_section", "elements": [{"type": "mystery", "text": "m"}]}]}
    assert text_lines(parse_rich_text(block)) == ["m"]


def test_names_come_from_the_stand_in_workspace() -> None:
    slack = SlackStandIn()
    slack.add_channel("C0CHECKOUT", "checkout")
    slack.add_user("U0ALICE", "alice", "Alice Example")
    names = Names.of(slack.ws)
    assert names.user("U0ALICE") == "@alice"
    assert names.user("U0TRIAGEBOT") == "@triage-bot"
    assert names.channel("C0CHECKOUT") == "#checkout"
    assert names.user("U0NOBODY", "@given") == "@given"
