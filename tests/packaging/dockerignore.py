"""`.dockerignore` matching with Docker's rules (moby/patternmatcher).

Patterns are Go ``filepath.Match`` globs plus ``**`` (any number of directories); a pattern
also matches everything under a directory it matches; ``!`` re-includes; the last pattern
that matches a path decides.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pattern:
    """One line of .dockerignore."""

    text: str
    negated: bool
    regex: re.Pattern[str]


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**", i):
            i += 2
            if glob.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.index("]", i + 1)
            body = glob[i + 1:end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def load(path: Path) -> list[Pattern]:
    """The patterns of a .dockerignore file, in order."""
    patterns: list[Pattern] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = posixpath.normpath(line[1:].strip() if negated else line).lstrip("/")
        patterns.append(Pattern(line, negated, re.compile(f"^{_translate(glob)}$")))
    return patterns


def _matches(pattern: Pattern, path: str) -> bool:
    parts = path.split("/")
    return any(pattern.regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1))


def excluded(patterns: list[Pattern], path: str) -> bool:
    """Whether ``path`` (relative to the build context, '/'-separated) stays out."""
    verdict = False
    for pattern in patterns:
        if _matches(pattern, path):
            verdict = not pattern.negated
    return verdict
