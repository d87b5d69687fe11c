"""The ranking of candidate failure patterns, as a thread message and as lines for the card.

The alert name only seeds the ranking; the evidence decides. So each candidate is shown with
the reasons for it *and* against it: a responder who sees "pool wait flat" under "connection-pool
exhaustion" knows why it is not the leader. Reasons quote frame names such as
``<T as Debug>::fmt``, hence escaping.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Candidate, Diagnosis
from bot.slack.blocks import MAX_BLOCKS_MESSAGE, Block, context, header, section
from bot.slack.findings_blocks import escape_clip, inline_code

__all__ = [
    "CONTRA_ICON",
    "PRO_ICON",
    "diagnosis_blocks",
    "diagnosis_text",
    "inconclusive_lines",
    "reason_lines",
]

PRO_ICON = ":heavy_plus_sign:"
CONTRA_ICON = ":heavy_minus_sign:"
REASON_CHARS = 300
CANDIDATE_TITLE_CHARS = 150
SECTION_BUDGET = 2900
_RANK_ICONS = (":first_place_medal:", ":second_place_medal:", ":third_place_medal:")


def score_text(score: float) -> str:
    """A score to two decimals (the engine's scale; only the order matters to readers)."""
    return f"{score:.2f}"


def reason_lines(
    candidate: Candidate, *, supporting: int, contradicting: int, budget: int = SECTION_BUDGET,
) -> list[str]:
    """Up to ``supporting`` reasons for and ``contradicting`` against, within ``budget`` chars.

    What did not fit is counted in a last line, so nobody mistakes a short list for the whole.
    """
    wanted = [f"{PRO_ICON} {escape_clip(r, REASON_CHARS)}" for r in candidate.supporting
              if r.strip()][:supporting]
    wanted += [f"{CONTRA_ICON} {escape_clip(r, REASON_CHARS)}" for r in candidate.contradicting
               if r.strip()][:contradicting]
    total = (sum(1 for r in candidate.supporting if r.strip())
             + sum(1 for r in candidate.contradicting if r.strip()))
    lines: list[str] = []
    used = 0
    for line in wanted:
        if used + len(line) + 1 > budget - 40:
            break
        lines.append(line)
        used += len(line) + 1
    if total > len(lines):
        lines.append(f"_…and {total - len(lines)} more reasons_")
    return lines


def _rank_icon(index: int) -> str:
    return _RANK_ICONS[index] if index < len(_RANK_ICONS) else f"`{index + 1}.`"


def candidate_block(candidate: Candidate, index: int) -> Block:
    """One candidate: rank, title, score, playbook, then its reasons for and against."""
    family = f"{escape_clip(candidate.family, 80)} › " if candidate.family and candidate.cause \
        else ""
    head = (f"{_rank_icon(index)} {family}*{escape_clip(candidate.title, CANDIDATE_TITLE_CHARS)}*"
            f" · score {score_text(candidate.score)} · {inline_code(candidate.id, 80)}")
    lines = reason_lines(candidate, supporting=8, contradicting=5,
                         budget=SECTION_BUDGET - len(head))
    if not candidate.supporting and not candidate.contradicting:
        lines = ["_no evidence either way yet: ranked by the alert alone_"]
    return section("\n".join([head, *lines]))


def inconclusive_lines(diagnosis: Diagnosis, *, normal: int = 8, checks: int = 5) -> list[str]:
    """Why the ranking is inconclusive, what was checked and normal, what to look at next."""
    lines = [":grey_question: *Inconclusive:* "
             + escape_clip("; ".join(diagnosis.reasons), 600)]
    lines += [f":white_check_mark: normal: {escape_clip(text, 200)}"
              for text in diagnosis.checked_normal[:normal]]
    lines += [f":mag: next: {escape_clip(text, 200)}" for text in diagnosis.next_checks[:checks]]
    return lines


def _clip_lines(lines: Sequence[str], budget: int = SECTION_BUDGET) -> str:
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _overflow(rest: Sequence[Candidate]) -> Block:
    names = ", ".join(f"{escape_clip(c.title, 60)} ({score_text(c.score)})" for c in rest[:20])
    more = f" and {len(rest) - 20} more" if len(rest) > 20 else ""
    return context(f"…and {len(rest)} lower-ranked: {names}{more}")


def diagnosis_blocks(diagnosis: Diagnosis) -> list[Block]:
    """Every candidate, best first, with its score and the evidence for and against it."""
    updated = diagnosis.updated_at.strftime("%H:%M UTC")
    blocks: list[Block] = [
        header(":dart: Candidate failure patterns"),
        context(f"Ranked after the latest step, updated {updated}. The alert name only seeds "
                "the ranking; the evidence of each step decides it."),
    ]
    if not diagnosis.candidates:
        blocks.append(section("No candidate pattern yet: run a step and the ranking appears "
                              "here."))
        return blocks
    if diagnosis.inconclusive:
        blocks.append(section(_clip_lines(inconclusive_lines(diagnosis))))
    room = MAX_BLOCKS_MESSAGE - len(blocks)
    candidates = diagnosis.candidates
    shown = candidates if len(candidates) <= room else candidates[: room - 1]
    blocks.extend(candidate_block(c, i) for i, c in enumerate(shown))
    if len(shown) < len(candidates):
        blocks.append(_overflow(candidates[len(shown):]))
    return blocks


def diagnosis_text(diagnosis: Diagnosis) -> str:
    """Notification fallback text for the ranking message."""
    leader = diagnosis.leader
    if leader is None:
        return "No candidate failure pattern yet."
    count = len(diagnosis.candidates)
    if diagnosis.inconclusive:
        return escape_clip(f"Inconclusive: {'; '.join(diagnosis.reasons)}. Leading hypothesis: "
                           f"{leader.title} (score {score_text(leader.score)})", 300)
    return escape_clip(f"Leading candidate: {leader.title} (score {score_text(leader.score)}), "
                       f"{count} candidate{'s' if count != 1 else ''} ranked", 300)
