"""A step's findings and the candidate ranking as thread messages, at the limits and beyond.

Covers bot.slack.findings_blocks and bot.slack.diagnosis_blocks: every rendering is checked by
the Slack stand-in's validator, because one oversized field loses the whole message.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import (
    Candidate,
    Diagnosis,
    Evidence,
    Finding,
    Link,
    Severity,
    StepName,
    StepResult,
    StepStatus,
    Window,
)
from bot.slack.blocks import MAX_BLOCKS_MESSAGE
from bot.slack.diagnosis_blocks import diagnosis_blocks, diagnosis_text
from bot.slack.findings_blocks import (
    escape_clip,
    finding_blocks,
    inline_code,
    link_text,
    step_message,
    window_text,
)
from triage_sim.slack.blockkit import validate_blocks

HOSTILE = "<!channel> <@U123> & `tick` <https://evil.example|click> <!here>"
START = datetime(2026, 3, 1, 10, 2, tzinfo=UTC)
WINDOW = Window(start=START, end=START + timedelta(minutes=45))


def dump(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def valid(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors = validate_blocks(blocks, "message")
    assert errors == [], errors[:5]
    assert len(blocks) <= MAX_BLOCKS_MESSAGE
    return blocks


def no_live_markup(text: str) -> None:
    """Nothing user-ish survived as a mention or a link."""
    for raw in ("<!channel>", "<!here>", "<@U123>", "<https://evil"):
        assert raw not in text, raw


def evidence(i: int, *, query: str | None = None, text: str = "") -> Evidence:
    return Evidence(label=f"value {i} {text}", value=f"{i * 1.5} MiB {text}", source="prometheus",
                    query=query, window=WINDOW)


def finding(i: int, severity: Severity = Severity.WARNING, **kw: Any) -> Finding:
    return Finding(key=f"k{i}", step=StepName.METRICS, title=kw.pop("title", f"finding {i}"),
                   severity=severity, **kw)


def result(findings: list[Finding], **kw: Any) -> StepResult:
    return StepResult(step=kw.pop("step", StepName.METRICS), status=kw.pop("status",
                      StepStatus.DONE), started_at=START, finished_at=START + timedelta(
                      seconds=3.2), window=WINDOW, findings=findings, **kw)


def test_a_plain_step_reads_well() -> None:
    findings = [
        finding(1, Severity.INFO, title="Signals not found",
                summary="No tokio_* series for this selector."),
        finding(2, Severity.CRITICAL, title="RSS grows 2.1 MiB/s",
                summary="Out of memory in about 14 minutes at this slope.",
                evidence=[Evidence(label="RSS", value="1.62 GiB", source="prometheus",
                                   query='process_resident_memory_bytes{job="checkout"}'),
                          Evidence(label="time to OOM", value="14 min", source="prometheus",
                                   query="predict_linear(rss[1h], 3600)")],
                hints=["Look for Arc cycles", "Compare two heap profiles"],
                links=[Link(title="Grafana", url="https://grafana.example/d/abc?var=1&x=2")]),
    ]
    text, blocks = step_message(result(findings, ran_by="U42"), incident_id="INC-7",
                                service="checkout")
    valid(blocks)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                   "text": ":bar_chart: Metrics · checkout"}}
    meta = blocks[1]["elements"][0]["text"]
    assert meta.startswith(":white_check_mark: done · window 2026-03-01 10:02–10:47 UTC (45 min)")
    assert "2 findings" in meta and "took 3.2 s" in meta and "<@U42>" in meta
    assert "`INC-7`" in meta
    # most severe first
    assert blocks[2]["text"]["text"].startswith(":red_circle: *RSS grows 2.1 MiB/s*")
    assert "• Look for Arc cycles" in blocks[2]["text"]["text"]
    assert [f["text"] for f in blocks[2]["fields"]] == ["*RSS*\n1.62 GiB",
                                                        "*time to OOM*\n14 min"]
    provenance = [e["text"] for e in blocks[3]["elements"]]
    assert provenance[0] == 'prometheus: `process_resident_memory_bytes{job="checkout"}`'
    assert provenance[-1] == ":link: <https://grafana.example/d/abc?var=1&amp;x=2|Grafana>"
    assert blocks[4]["text"]["text"].startswith(":large_blue_circle: *Signals not found*")
    assert text == "INC-7 · checkout · Metrics done: 2 findings, first: RSS grows 2.1 MiB/s"


def test_forty_huge_hostile_findings_fit_in_one_message() -> None:
    huge_query = "sum by (le) (rate(x_bucket{a=\"`b`\"}[5m])) " * 2000
    findings = [
        finding(i, [Severity.INFO, Severity.WARNING, Severity.CRITICAL][i % 3],
                title=HOSTILE * 20, summary=HOSTILE * 300,
                evidence=[evidence(j, query=(huge_query if j == 0 else f"up{{j=\"{j}\"}}"),
                                   text=HOSTILE * 50) for j in range(100)],
                hints=[HOSTILE * 40] * 12,
                links=[Link(title=HOSTILE, url=f"https://x.example/{k}?a=<b>|c")
                       for k in range(12)])
        for i in range(40)
    ]
    text, blocks = step_message(result(findings, ran_by="<!channel>"), incident_id="INC-1",
                                service="checkout")
    valid(blocks)
    rendered = dump(blocks) + text
    no_live_markup(rendered)
    assert len(text) <= 300
    last = blocks[-1]
    assert last["type"] == "context"
    shown = sum(1 for b in blocks if b["type"] == "section")
    match = re.match(r"…and (\d+) more findings: ", last["elements"][0]["text"])
    assert match, last
    assert shown + int(match.group(1)) == 40
    for block in blocks:
        if block["type"] == "section" and "fields" in block:
            assert len(block["fields"]) == 10
            assert block["fields"][-1]["text"] == "_…and 91 more values_"
    assert "_…and 7 more hints_" in rendered
    assert "_+97 more queries_" in rendered


def test_every_section_text_stays_under_3000_even_with_max_pieces() -> None:
    f = finding(1, title="t" * 10_000, summary="s" * 10_000, hints=["h" * 10_000] * 6,
                evidence=[evidence(i, text="v" * 10_000) for i in range(10)])
    blocks = valid(finding_blocks(f))
    assert len(blocks[0]["text"]["text"]) <= 3000
    assert all(len(x["text"]) <= 2000 for x in blocks[0]["fields"])


@pytest.mark.parametrize("count", [0, 1, 23, 24, 25, 47, 48, 49, 50, 51])
def test_block_budget_at_the_boundaries(count: int) -> None:
    findings = [finding(i, evidence=[evidence(i, query=f"up{{i=\"{i}\"}}")]) for i in range(count)]
    _, blocks = step_message(result(findings), incident_id="INC-1", service="checkout")
    valid(blocks)
    overflow = re.search(r"…and (\d+) more finding", dump(blocks))
    shown = sum(1 for b in blocks if b["type"] == "section"
                and b["text"]["text"].startswith(":large_yellow_circle:"))
    assert shown + (int(overflow.group(1)) if overflow else 0) == count
    assert (overflow is not None) == (2 * count + 2 > MAX_BLOCKS_MESSAGE)


def test_findings_without_provenance_take_one_block_each() -> None:
    findings = [finding(i) for i in range(60)]
    _, blocks = step_message(result(findings), incident_id="INC-1", service="checkout")
    valid(blocks)
    assert len(blocks) == MAX_BLOCKS_MESSAGE
    assert "…and 13 more findings" in blocks[-1]["elements"][0]["text"]


def test_a_failed_step_says_what_failed() -> None:
    failed = result([], status=StepStatus.FAILED, step=StepName.LOGS,
                    error="loki timed out after 10 s: " + HOSTILE * 200)
    text, blocks = step_message(failed, incident_id="INC-2", service="checkout")
    valid(blocks)
    assert blocks[0]["text"]["text"] == ":scroll: Logs · checkout"
    assert blocks[1]["elements"][0]["text"].startswith(":x: failed")
    assert blocks[2]["text"]["text"].startswith(":x: *The logs step failed:* loki timed out")
    assert "retry this one from the card" in blocks[2]["text"]["text"]
    assert text.startswith("INC-2 · checkout · Logs failed: loki timed out after 10 s")
    no_live_markup(dump(blocks) + text)
    no_reason = step_message(result([], status=StepStatus.FAILED), incident_id="I",
                             service="s")[1]
    assert "no reason was recorded" in dump(no_reason)


def test_done_with_nothing_found_and_still_running() -> None:
    _, blocks = step_message(result([]), incident_id="INC-3", service="checkout")
    assert "Nothing notable in this window" in dump(valid(blocks))
    running = StepResult(step=StepName.PROFILE, status=StepStatus.RUNNING, started_at=START)
    text, blocks = step_message(running, incident_id="INC-3", service="checkout")
    valid(blocks)
    assert "still running" in dump(blocks) and "findings" not in blocks[1]["elements"][0]["text"]
    assert text == "INC-3 · checkout · Profile running…"


def test_window_text() -> None:
    assert window_text(WINDOW) == "2026-03-01 10:02–10:47 UTC (45 min)"
    late = Window(start=datetime(2026, 3, 1, 23, 30, tzinfo=UTC),
                  end=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    assert window_text(late) == "2026-03-01 23:30 – 2026-03-02 01:00 UTC (1 h 30 min)"
    days = Window(start=START, end=START + timedelta(days=3, hours=2))
    assert window_text(days).endswith("(3 d 2 h)")


def test_escape_clip_never_splits_an_entity_and_never_overflows() -> None:
    rng = random.Random(5)
    alphabet = "ab&<>` é😀"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        limit = rng.randint(1, 40)
        out = escape_clip(text, limit)
        assert len(out) <= limit
        assert "<" not in out and ">" not in out
        body = out.removesuffix("…")
        assert re.fullmatch(r"([^&]|&amp;|&lt;|&gt;)*", body), out


def test_inline_code_keeps_backticks_paired() -> None:
    assert inline_code("rate(x[5m])", 100) == "`rate(x[5m])`"
    assert inline_code("a\n  b\tc", 100) == "`a b c`"
    long = inline_code("x" * 5000, 600)
    assert len(long) <= 600 and long.startswith("`") and long.endswith("…`")
    assert long.count("`") == 2
    logql = inline_code('{app="x"} |~ `(?i)panic` ``` ' + "y" * 5000, 600)
    assert len(logql) <= 600 and logql.startswith("``` ") and logql.endswith(" ```")
    assert "```" not in logql[3:-3]
    assert inline_code("<!channel>", 50) == "`&lt;!channel&gt;`"


def test_links_only_http_and_never_break_out() -> None:
    text = link_text([Link(title="a|b>c", url="javascript:alert(1)"),
                      Link(title="ok", url="https://x.example/p?q=a|b>c d")])
    assert text == (":link: a/b&gt;c · "
                    "<https://x.example/p?q=a%7Cb%3Ec%20d|ok>")


# --- the candidate ranking (bot.slack.diagnosis_blocks) ---------------------------------

def test_ranking_lists_every_candidate_with_reasons_for_and_against() -> None:
    diagnosis = Diagnosis(updated_at=START, candidates=[
        Candidate(playbook="tokio-starvation", title="Tokio worker starvation", score=0.82,
                  supporting=["busy ratio 0.97", "`std::thread::sleep` under a worker"],
                  contradicting=["pool wait flat"]),
        Candidate(playbook="pool-exhaustion", title="Connection-pool exhaustion", score=0.31,
                  contradicting=["pool wait flat (1.0x)"]),
        Candidate(playbook="generic", title="Generic", score=0.05),
    ])
    blocks = valid(diagnosis_blocks(diagnosis))
    assert "updated 10:02 UTC" in blocks[1]["elements"][0]["text"]
    first = blocks[2]["text"]["text"]
    assert first.startswith(":first_place_medal: *Tokio worker starvation* · score 0.82 · "
                            "`tokio-starvation`")
    assert first.count(":heavy_plus_sign:") == 2 and first.count(":heavy_minus_sign:") == 1
    assert blocks[3]["text"]["text"].startswith(":second_place_medal:")
    assert "ranked by the alert alone" in blocks[4]["text"]["text"]
    assert diagnosis_text(diagnosis) == ("Leading candidate: Tokio worker starvation "
                                         "(score 0.82), 3 candidates ranked")


def test_ranking_at_extremes() -> None:
    candidates = [Candidate(playbook=HOSTILE * 10, title=HOSTILE * 30, score=100 - i,
                            supporting=[HOSTILE * 200] * 30, contradicting=[HOSTILE * 200] * 30)
                  for i in range(70)]
    blocks = valid(diagnosis_blocks(Diagnosis(candidates=candidates)))
    rendered = dump(blocks)
    no_live_markup(rendered + diagnosis_text(Diagnosis(candidates=candidates)))
    assert "…and 23 lower-ranked" in blocks[-1]["elements"][0]["text"]
    assert "more reasons_" in rendered
    assert blocks[5]["text"]["text"].startswith("`4.`")


def test_empty_ranking() -> None:
    blocks = valid(diagnosis_blocks(Diagnosis(candidates=[])))
    assert "No candidate pattern yet" in dump(blocks)
    assert diagnosis_text(Diagnosis(candidates=[])) == "No candidate failure pattern yet."
