"""A Dockerfile read as Docker reads it: instructions, stages, exec-form arguments."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_DIRECTIVE = re.compile(r"^#\s*(syntax|escape|check)\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), argument text, stage index and first line."""

    keyword: str
    args: str
    stage: int
    line: int

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/ENTRYPOINT/HEALTHCHECK CMD (ValueError if shell form)."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + 3:]
        parsed = json.loads(text.strip())
        if not isinstance(parsed, list) or not all(isinstance(a, str) for a in parsed):
            raise ValueError(f"line {self.line}: not an exec-form array: {self.args}")
        return parsed


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; drop comments (also inside continuations) and blanks."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") and not _DIRECTIVE.match(stripped):
            continue
        if not stripped and not pending:
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        lines.append((start, " ".join(p for p in pending if p)))
        pending = []
    return lines


def parse(path: Path) -> list[Instruction]:
    """Every instruction of the Dockerfile at ``path``; stages count from 0 at each FROM."""
    instructions: list[Instruction] = []
    stage = -1
    for line, text in _logical_lines(path.read_text(encoding="utf-8")):
        if _DIRECTIVE.match(text):
            continue
        keyword, _, args = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage, line))
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage (the image that ships)."""
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def env_vars(instructions: list[Instruction]) -> dict[str, str]:
    """ENV assignments (``KEY=value`` form, values unquoted), later ones winning."""
    found: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', instruction.args):
                found[key] = value.strip('"')
    return found


def copy_sources(instructions: list[Instruction]) -> list[str]:
    """Sources of COPY/ADD taken from the build context (not ``--from=`` another stage)."""
    sources: list[str] = []
    for instruction in instructions:
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        words = instruction.args.split()
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources.extend(paths[:-1])
    return sources
