"""The root-cause analysis of one incident as stored: sections, who wrote them, citations.

Every claim drawn from evidence cites it by number; a citation freezes the step, query, time
range and values, so the draft stands after retention has dropped the data.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.models.findings import Evidence, StepName
from bot.models.incident import utcnow

MAX_SECTION = 3000


class Section(StrEnum):
    """The RCA's sections, in reading order."""

    SYMPTOM = "symptom"
    CONTRIBUTING = "contributing"
    ROOT_CAUSE = "root_cause"
    FIX = "fix"
    PREVENTION = "prevention"
    TIMELINE = "timeline"


SECTION_TITLES = {
    Section.SYMPTOM: "Observed symptom", Section.CONTRIBUTING: "Contributing factors",
    Section.ROOT_CAUSE: "Root cause", Section.FIX: "Fix", Section.PREVENTION: "Prevention",
    Section.TIMELINE: "Timeline",
}


class SectionText(BaseModel):
    """One section's text and who wrote it."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    origin: Literal["draft", "human"] = "draft"
    edited_by: str | None = None
    edited_at: datetime | None = None


class Citation(BaseModel):
    """A frozen copy of one piece of evidence, cited as ``[n]``."""

    model_config = ConfigDict(frozen=True)

    number: int
    step: StepName
    finding: str
    evidence: Evidence


class Rca(BaseModel):
    """The RCA of one incident as stored; ``version`` guards concurrent edits."""

    incident_id: str
    version: int = 0
    playbook: str | None = None
    sections: dict[Section, SectionText] = Field(default_factory=dict)
    citations: list[Citation] = Field(default_factory=list)
    drafted_at: datetime = Field(default_factory=utcnow)
    edited_by: str | None = None
    edited_at: datetime | None = None

    def text(self, section: Section) -> str:
        """A section's text ('' when empty)."""
        found = self.sections.get(section)
        return found.text if found else ""


def fingerprint(text: str) -> str:
    """A short hash of a section's text, to tell later whether a human changed it."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def clip_section(text: str) -> str:
    """The text cut to what one section (and one modal field) holds."""
    return text if len(text) <= MAX_SECTION else text[: MAX_SECTION - 1] + "…"
