"""docker-compose.yml read as Compose reads it: YAML merges, ``${VAR}`` interpolation,
command lines, bind mounts."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, and $$.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(KeyError):
    """A ``${VAR:?message}`` whose variable is unset (Compose refuses to start)."""


def load(path: Path) -> dict[str, Any]:
    """The compose file as data; YAML anchors and ``<<`` merges resolved, nothing interpolated."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return data


def variables(value: str) -> set[str]:
    """Names of the environment variables ``value`` refers to."""
    return {m.group("braced") or m.group("bare") for m in _VARIABLE.finditer(value)
            if not m.group("escaped")}


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """``value`` with variables replaced the way Compose does."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        present = name in environ and (environ[name] != "" or not op.startswith(":"))
        if op.endswith("-"):
            return environ[name] if present else arg
        if op.endswith("?") and not present:
            raise MissingVariable(f"{name}: {arg}")
        return environ.get(name, "")

    return _VARIABLE.sub(replace, value)


def interpolate_tree(node: Any, environ: Mapping[str, str]) -> Any:
    """Every string in ``node`` interpolated (keys too, as Compose does for values only)."""
    if isinstance(node, str):
        return interpolate(node, environ)
    if isinstance(node, list):
        return [interpolate_tree(item, environ) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(item, environ) for key, item in node.items()}
    return node


def argv(command: str | list[str]) -> list[str]:
    """A service's ``command``/``entrypoint`` as an argument vector (strings: shell words)."""
    return shlex.split(command) if isinstance(command, str) else list(command)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` (map or list form) as a dict; values not interpolated."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


@dataclass(frozen=True)
class Mount:
    """One volume entry: a bind mount (source is a host path) or a named volume."""

    source: str
    target: str
    read_only: bool
    bind: bool


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    """A service's ``volumes`` (short or long syntax)."""
    found: list[Mount] = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, target, *mode = entry.split(":")
            bind = source.startswith((".", "/", "~"))
            found.append(Mount(source, target, "ro" in mode, bind))
        else:
            found.append(Mount(str(entry.get("source", "")), str(entry["target"]),
                               bool(entry.get("read_only")), entry.get("type") == "bind"))
    return found


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """``depends_on`` as {service: condition} (the short form means service_started)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: str((spec or {}).get("condition", "service_started"))
            for name, spec in raw.items()}
