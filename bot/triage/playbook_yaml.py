"""Playbook YAML with positions: every problem as ``file:line:col: message``.

YAML is composed to nodes first, so each pydantic error location (``findings[2].when.signal``)
maps back to the line of that node. Files are ``Traversable`` so the built-in playbooks (package
data, read with importlib.resources) and a team's directory are read the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import ValidationError

from bot.triage.playbook import UNION_TAGS
from bot.triage.playbook_values import Loc

__all__ = ["Problem", "YamlDocument", "dotted", "read_yaml", "validation_problems"]

# libyaml composes nodes with the same marks, ten times faster than the pure-Python parser.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where it is (line and column 1-based; 0 when not in a file's text)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data, and its node tree for locating values."""

    path: Traversable
    data: Any
    root: yaml.Node

    def position(self, loc: Loc, *, at_key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``loc``, or of the deepest part found.

        Parts that are not in the document (pydantic's union tags, a missing key) are
        skipped, so a missing key points at the mapping that lacks it. With ``at_key`` the
        last mapping part points at its key (for "unknown key" errors).
        """
        node, mark = self.root, self.root.start_mark
        for index, part in enumerate(loc):
            child = _child(node, part)
            if child is None:
                continue
            key, node = child
            last = index == len(loc) - 1
            if key is not None and ((at_key and last) or not isinstance(node, yaml.ScalarNode)):
                mark = key.start_mark
            else:
                mark = node.start_mark
        # An empty file has no marks (its root is made up): no position, like a file problem.
        return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> Problem:
        """A problem located at ``loc`` in this file."""
        line, column = self.position(loc, at_key=at_key)
        return Problem(str(self.path), line, column, message)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(
            node.value):
        return None, node.value[part]
    return None


def _duplicate_keys(node: yaml.Node, path: Traversable,
                    seen_nodes: set[int] | None = None) -> Iterator[Problem]:
    # An alias is the same node object again; ``&a [*a]`` even makes the tree a cycle.
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield Problem(str(path), key.start_mark.line + 1, key.start_mark.column + 1,
                              f"duplicate key {name!r} (first at line {seen[name]})")
            seen.setdefault(name, key.start_mark.line + 1)
            yield from _duplicate_keys(value, path, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, path, seen_nodes)


def read_yaml(path: Traversable) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML file keeping node positions; problems instead of exceptions."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem(str(path), 0, 0, f"cannot read: {exc.strerror or exc}")]
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), 0, 0, f"cannot read: not UTF-8 ({exc.reason})")]
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
        if root is None:
            root = yaml.MappingNode("tag:yaml.org,2002:map", [])
        duplicates = list(_duplicate_keys(root, path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        return None, [Problem(str(path), line, column,
                              f"not valid YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [Problem(str(path), 0, 0, f"not valid YAML: {exc}")]
    except RecursionError:
        return None, [Problem(str(path), 0, 0, "not valid YAML: nested too deeply")]
    finally:
        loader.dispose()
    return YamlDocument(path, data, root), duplicates


def dotted(loc: Loc) -> str:
    """``("findings", 2, "when", "signal-condition", "signal")`` -> ``findings[2].when.signal``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                   for p in loc if p not in UNION_TAGS).lstrip(".")


def validation_problems(document: YamlDocument, exc: ValidationError) -> list[Problem]:
    """One located problem per pydantic error, with the dotted path in the message."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        where = dotted(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
            where = where.rpartition(".")[0]
        elif kind == "missing":
            message = f"missing key {loc[-1]!r}"
            where = where.rpartition(".")[0]
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(document.problem(loc, f"{where}: {message}" if where else message,
                                         at_key=kind == "extra_forbidden"))
    return problems
