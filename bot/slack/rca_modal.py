"""The RCA modal: opened at once as "drafting…", then filled in; read back on submit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import InputError
from bot.models import MAX_SECTION, SECTION_TITLES, Incident, Rca, Section, fingerprint
from bot.slack.blocks import clip, context, escape, plain, section
from bot.slack.payloads import mapping, text

RCA_CALLBACK = "triage.rca"
_ACTION = "text"
_PLACEHOLDERS = {
    Section.SYMPTOM: "What users saw, with the metrics that show it",
    Section.CONTRIBUTING: "Conditions that had to hold for this to happen",
    Section.ROOT_CAUSE: "The specific code or configuration at fault",
    Section.FIX: "The change, and why it addresses the root cause",
    Section.PREVENTION: "The alert or instrumentation that would have caught it earlier",
    Section.TIMELINE: "What happened when",
}


def loading_view(incident_id: str) -> dict[str, Any]:
    """What the responder sees for the second or two the draft takes."""
    return {"type": "modal", "callback_id": f"{RCA_CALLBACK}.loading",
            "title": plain("RCA", 24), "close": plain("Close", 24),
            "blocks": [section(f":hourglass_flowing_sand: Drafting the RCA of *{incident_id}* "
                               "from the evidence gathered so far…")]}


def _citations_text(rca: Rca) -> str:
    lines = [f"[{c.number}] {c.step.value}: {c.evidence.label} = {c.evidence.value}"
             for c in rca.citations]
    return clip(escape("\n".join(lines)), 2900) if lines else "No evidence cited yet."


def rca_view(incident: Incident, rca: Rca) -> dict[str, Any]:
    """The form, prefilled; private_metadata remembers the version and what was prefilled."""
    metadata = {"incident": incident.id, "version": rca.version,
                "prefilled": {s.value: fingerprint(rca.text(s)) for s in Section}}
    blocks: list[dict[str, Any]] = [context(
        f"*{incident.id}* · leading pattern: {rca.playbook or 'none yet'} · version "
        f"{rca.version} · sections you change become yours; a re-draft refills only the rest")]
    for part in Section:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": _ACTION,
                                   "multiline": True, "max_length": MAX_SECTION,
                                   "placeholder": plain(_PLACEHOLDERS[part], 150)}
        if rca.text(part):
            element["initial_value"] = rca.text(part)
        owner = rca.sections.get(part)
        hint = f"Written by {owner.edited_by}" if owner and owner.origin == "human" else None
        block: dict[str, Any] = {"type": "input", "block_id": part.value, "optional": True,
                                 "label": plain(SECTION_TITLES[part], 2000), "element": element}
        if hint:
            block["hint"] = plain(hint, 2000)
        blocks.append(block)
    blocks.append(section("*Evidence cited*\n" + _citations_text(rca)))
    return {"type": "modal", "callback_id": RCA_CALLBACK, "title": plain("RCA draft", 24),
            "submit": plain("Save", 24), "close": plain("Cancel", 24),
            "private_metadata": json.dumps(metadata), "blocks": blocks}


@dataclass(frozen=True)
class RcaSubmission:
    """What a responder saved."""

    incident_id: str
    version: int
    texts: dict[Section, str]
    prefilled: dict[Section, str]


def _metadata(view: Mapping[str, Any]) -> tuple[str, int, dict[Section, str]]:
    """Incident, version and prefilled fingerprints, as rca_view wrote them."""
    raw = view.get("private_metadata")
    metadata = mapping(json.loads(raw) if isinstance(raw, str) else None)
    incident_id, version, prefilled = (metadata["incident"], metadata["version"],
                                       metadata["prefilled"])
    if not isinstance(incident_id, str) or not incident_id:
        raise ValueError("no incident id")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"version {version!r} is not a whole number")
    if not isinstance(prefilled, Mapping):
        raise ValueError("prefilled is not an object")
    return incident_id, version, {Section(k): text(v) for k, v in prefilled.items()}


def read_rca_submission(view: Mapping[str, Any]) -> RcaSubmission:
    """Parse a submitted RCA form; InputError for a form that is not ours."""
    try:
        incident_id, version, prefilled = _metadata(view)
    except (ValueError, KeyError, RecursionError) as exc:
        raise InputError(f"This form is damaged ({exc}); reopen Draft RCA.") from None
    values = mapping(mapping(view.get("state")).get("values"))
    texts = {part: text(mapping(mapping(values.get(part.value)).get(_ACTION)).get("value"))
             for part in Section}
    return RcaSubmission(incident_id, version, texts, prefilled)
