"""Which distributions the image installs, and whether requirements.lock pins each of them.

The Dockerfile installs pyproject's runtime dependencies with ``--constraint
requirements.lock``: a constraint pins what it names and silently lets anything else float,
so every distribution in the runtime closure must be in the lock.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def pins(lock: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a uv/pip-compile lock."""
    found: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if "==" in text:
            name, version = text.split("==", 1)
            found[canonicalize_name(name.split("[")[0].strip())] = version.split(";")[0].strip()
    return found


def runtime_requirements(pyproject: Path) -> list[Requirement]:
    """``[project].dependencies`` of pyproject.toml."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def closure(roots: list[Requirement]) -> dict[str, str]:
    """Every distribution the roots pull in on this interpreter, as ``{name: wanted by}``,
    read from the installed packages' metadata."""
    wanted: dict[str, str] = {}
    queue = [(root, "pyproject.toml") for root in roots]
    while queue:
        requirement, parent = queue.pop()
        name = canonicalize_name(requirement.name)
        if name in wanted:
            continue
        wanted[name] = parent
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            if _applies(child, set(requirement.extras)):
                queue.append((child, name))
    return wanted
