"""A step's findings as one thread message, inside Slack's limits whatever the step found.

A step may find forty things, quote a ten-thousand-character log line or a PromQL query longer
than a section allows; the message must still post (an invalid block loses the whole message),
so every piece of text here has a budget and findings that do not fit are summarised at the end
rather than dropped silently. Log lines, span names and frame names are not ours: they are
escaped, so a log line saying ``<!channel>`` pings nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from bot.models import Evidence, Finding, Link, Severity, StepName, StepResult, StepStatus, Window
from bot.slack.blocks import (
    MAX_BLOCKS_MESSAGE,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELDS,
    Block,
    context,
    escape,
    header,
    section,
)
from bot.slack.cards import user

__all__ = [
    "SEVERITY_ICONS",
    "STATUS_ICONS",
    "STATUS_WORDS",
    "STEP_ICONS",
    "STEP_TITLES",
    "escape_clip",
    "inline_code",
    "step_message",
    "window_text",
]

STEP_TITLES = {StepName.METRICS: "Metrics", StepName.LOGS: "Logs",
               StepName.TRACES: "Traces", StepName.PROFILE: "Profile"}
STEP_ICONS = {StepName.METRICS: ":bar_chart:", StepName.LOGS: ":scroll:",
              StepName.TRACES: ":mag:", StepName.PROFILE: ":fire:"}
STATUS_ICONS = {StepStatus.NOT_STARTED: ":white_circle:",
                StepStatus.RUNNING: ":hourglass_flowing_sand:",
                StepStatus.DONE: ":white_check_mark:", StepStatus.FAILED: ":x:"}
STATUS_WORDS = {StepStatus.NOT_STARTED: "not started", StepStatus.RUNNING: "running…",
                StepStatus.DONE: "done", StepStatus.FAILED: "failed"}
SEVERITY_ICONS = {
    Severity.CRITICAL: ":red_circle:", Severity.ERROR: ":large_orange_circle:",
    Severity.WARNING: ":large_yellow_circle:", Severity.INFO: ":large_blue_circle:",
    Severity.UNKNOWN: ":white_circle:",
}
# Most severe first, so a message cut short still shows what matters.
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.ERROR: 1, Severity.WARNING: 2,
                  Severity.UNKNOWN: 3, Severity.INFO: 4}
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# Budgets per piece (characters, after escaping); together they stay under 3000 per section.
TITLE_CHARS = 150
SUMMARY_CHARS = 1200
HINT_CHARS = 250
MAX_HINTS = 5
LABEL_CHARS = 100
VALUE_CHARS = 400
QUERY_CHARS = 600
MAX_QUERIES = 3
MAX_LINKS = 5
ERROR_CHARS = 1500
FALLBACK_CHARS = 300
OVERFLOW_CHARS = 2900


def escape_clip(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn and cut to ``limit`` characters *after* escaping.

    Cutting after escaping could split ``&amp;`` into a stray ``&am``; cutting before could
    overflow. This cuts between source characters so the escaped text fits exactly.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for char in text:
        piece = _ENTITIES.get(char, char)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def inline_code(text: str, limit: int) -> str:
    """``text`` on one line as code, escaped and clipped inside the backticks.

    The clip happens before the backticks are added, so they always pair. mrkdwn has no
    escape for a backtick inside inline code, so text containing one goes into a ``` span
    (whose only terminator, three backticks, is broken up with a zero-width space).
    """
    flat = " ".join(text.split())
    if "`" not in flat:
        return f"`{escape_clip(flat, max(1, limit - 2))}`"
    body = escape_clip(flat.replace("```", "``\u200b`"), max(1, limit - 8))
    return f"``` {body} ```"


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def window_text(window: Window) -> str:
    """``2026-03-01 10:02–10:47 UTC (45 min)``; both dates when it spans midnight."""
    start, end = window.start, window.end
    length = _duration((end - start).total_seconds())
    if start.date() == end.date():
        return f"{start:%Y-%m-%d} {_hhmm(start)}–{_hhmm(end)} UTC ({length})"
    return f"{start:%Y-%m-%d} {_hhmm(start)} – {end:%Y-%m-%d} {_hhmm(end)} UTC ({length})"


def _meta_line(result: StepResult, incident_id: str, shown: int) -> str:
    parts = [f"{STATUS_ICONS[result.status]} {STATUS_WORDS[result.status]}"]
    if result.window is not None:
        parts.append(f"window {window_text(result.window)}")
    if result.status is not StepStatus.RUNNING:
        parts.append(f"{shown} finding{'s' if shown != 1 else ''}")
    if result.finished_at is not None:
        parts.append(f"took {(result.finished_at - result.started_at).total_seconds():.1f} s")
    if result.ran_by:
        parts.append(f"run by {user(result.ran_by)}")
    parts.append(inline_code(incident_id, 80))
    return " · ".join(parts)


def _status_block(result: StepResult) -> Block | None:
    title = STEP_TITLES[result.step]
    if result.status is StepStatus.FAILED:
        reason = escape_clip(result.error or "no reason was recorded", ERROR_CHARS)
        return section(f":x: *The {title.lower()} step failed:* {reason}\n"
                       "The other steps can still run; retry this one from the card.")
    if result.status is StepStatus.RUNNING:
        return section(f":hourglass_flowing_sand: The {title.lower()} step is still running…")
    if result.status is StepStatus.DONE and not result.findings:
        return section(":white_check_mark: Nothing notable in this window.")
    return None


def _finding_text(finding: Finding) -> str:
    lines = [f"{SEVERITY_ICONS[finding.severity]} *{escape_clip(finding.title, TITLE_CHARS)}*"]
    if finding.summary.strip():
        lines.append(escape_clip(finding.summary.strip(), SUMMARY_CHARS))
    hints = [h for h in finding.hints if h.strip()]
    lines.extend(f"• {escape_clip(h.strip(), HINT_CHARS)}" for h in hints[:MAX_HINTS])
    if len(hints) > MAX_HINTS:
        lines.append(f"_…and {len(hints) - MAX_HINTS} more hints_")
    return "\n".join(lines)


def _evidence_fields(evidence: Sequence[Evidence]) -> list[str]:
    def field(e: Evidence) -> str:
        return f"*{escape_clip(e.label, LABEL_CHARS)}*\n{escape_clip(e.value, VALUE_CHARS)}"

    if len(evidence) <= MAX_FIELDS:
        return [field(e) for e in evidence]
    shown = [field(e) for e in evidence[: MAX_FIELDS - 1]]
    return [*shown, f"_…and {len(evidence) - (MAX_FIELDS - 1)} more values_"]


def _safe_url(url: str) -> str | None:
    """An http(s) URL with the characters that would end a mrkdwn link encoded, else None."""
    if urlsplit(url.strip()).scheme not in ("http", "https"):
        return None
    encoded = url.strip().replace(" ", "%20").replace("|", "%7C")
    return encoded.replace("<", "%3C").replace(">", "%3E").replace("&", "&amp;")


def link_text(links: Iterable[Link]) -> str:
    """Links as ``<url|title>`` joined by dots; a non-http URL shows its title only."""
    parts = []
    for link in links:
        title = escape_clip(link.title.replace("|", "/"), 80)
        url = _safe_url(link.url)
        parts.append(f"<{url}|{title}>" if url else title)
    return ":link: " + " · ".join(parts)


def _provenance(finding: Finding) -> Block | None:
    """Where the evidence came from: each distinct query once, then the links."""
    seen: dict[tuple[str, str], None] = {}
    for e in finding.evidence:
        if e.query:
            seen.setdefault((e.source, e.query), None)
    queries = list(seen)
    elements = [f"{escape_clip(source, 40)}: {inline_code(query, QUERY_CHARS)}"
                for source, query in queries[:MAX_QUERIES]]
    if len(queries) > MAX_QUERIES:
        elements.append(f"_+{len(queries) - MAX_QUERIES} more queries_")
    if finding.links:
        elements.append(link_text(finding.links[:MAX_LINKS]))
    if not elements:
        return None
    return context(*elements[:MAX_CONTEXT_ELEMENTS])


def finding_blocks(finding: Finding) -> list[Block]:
    """One finding: a section (title, summary, hints, evidence fields) and its provenance."""
    fields = _evidence_fields(finding.evidence)
    blocks = [section(_finding_text(finding), fields=fields or None)]
    provenance = _provenance(finding)
    if provenance is not None:
        blocks.append(provenance)
    return blocks


def _overflow(left_out: Sequence[Finding]) -> Block:
    head = f"…and {len(left_out)} more finding{'s' if len(left_out) != 1 else ''}: "
    text = head
    for index, finding in enumerate(left_out):
        item = f"{SEVERITY_ICONS[finding.severity]} {escape_clip(finding.title, 80)}"
        piece = item if index == 0 else f" · {item}"
        if len(text) + len(piece) > OVERFLOW_CHARS:
            return context(text + " · …")
        text += piece
    return context(text)


def _findings_within(findings: Sequence[Finding], budget: int) -> list[Block]:
    """As many whole findings as fit in ``budget`` blocks, the rest summarised in one."""
    ordered = sorted(findings, key=lambda f: _SEVERITY_RANK[f.severity])
    blocks: list[Block] = []
    for index, finding in enumerate(ordered):
        rendered = finding_blocks(finding)
        is_last = index == len(ordered) - 1
        room = budget - len(blocks) - (0 if is_last else 1)
        if len(rendered) > room:
            return [*blocks, _overflow(ordered[index:])]
        blocks.extend(rendered)
    return blocks


def step_message(result: StepResult, *, incident_id: str, service: str) -> tuple[str, list[Block]]:
    """Fallback text and blocks for a step's findings, posted in the incident's thread."""
    title = STEP_TITLES[result.step]
    blocks: list[Block] = [
        header(f"{STEP_ICONS[result.step]} {title} · {service}"),
        context(_meta_line(result, incident_id, len(result.findings))),
    ]
    status = _status_block(result)
    if status is not None:
        blocks.append(status)
    blocks.extend(_findings_within(result.findings, MAX_BLOCKS_MESSAGE - len(blocks)))
    return _fallback(result, incident_id, service), blocks


def _fallback(result: StepResult, incident_id: str, service: str) -> str:
    title = STEP_TITLES[result.step]
    text = f"{incident_id} · {service} · {title} {STATUS_WORDS[result.status]}"
    if result.status is StepStatus.FAILED:
        text += f": {result.error or 'no reason was recorded'}"
    elif result.findings:
        worst = min(result.findings, key=lambda f: _SEVERITY_RANK[f.severity])
        count = len(result.findings)
        text += f": {count} finding{'s' if count != 1 else ''}, first: {worst.title}"
    return escape_clip(" ".join(text.split()), FALLBACK_CHARS)
