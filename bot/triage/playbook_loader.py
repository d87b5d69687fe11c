"""Load a directory of playbooks, and report every problem in it with file, line and column.

YAML is composed to nodes first, so each pydantic error location (``findings[2].when.signal``)
maps back to the line of that node; a responder fixing a playbook sees all of its problems at
once, not one per run. Checks that span files (duplicate ids, the one generic playbook, log
categories defined somewhere, ``x.*`` signals defined by the playbook's own queries) run on the
set, with the same locations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError
from bot.triage.playbook import (
    UNION_TAGS,
    AllOf,
    AnyOf,
    Condition,
    LogCondition,
    Playbook,
    SignalCondition,
    leaves,
)
from bot.triage.playbook_values import Loc, template_fields

__all__ = [
    "PlaybookSet",
    "Problem",
    "YamlDocument",
    "check_playbooks",
    "dotted",
    "load_playbooks",
    "read_yaml",
    "set_problems",
    "validation_problems",
]

_SUFFIXES = (".yaml", ".yml")
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

    path: Path
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


def _duplicate_keys(node: yaml.Node, path: Path,
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


def read_yaml(path: Path) -> tuple[YamlDocument | None, list[Problem]]:
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


class PlaybookSet:
    """The loaded playbooks: lookup by id, the generic one, alert matching, log patterns."""

    def __init__(self, playbooks: Sequence[Playbook]) -> None:
        problems = set_problems(playbooks)
        if problems:
            raise ConfigError("invalid playbook set:\n" + "\n".join(
                f"  {playbooks[i].id if i is not None else '(set)'}: {message}"
                for i, _, message in problems))
        self.all: tuple[Playbook, ...] = tuple(sorted(playbooks, key=lambda p: p.id))
        self._by_id = {p.id: p for p in self.all}
        self.generic: Playbook = next(p for p in self.all if p.generic)

    def get(self, playbook_id: str) -> Playbook | None:
        """The playbook with this id, if any."""
        return self._by_id.get(playbook_id)

    def matching(self, alertname: str | None,
                 labels: Mapping[str, str]) -> list[tuple[Playbook, float]]:
        """Playbooks the alert seeds, with their prior: by prior (highest first), then id."""
        found = [(p, p.diagnosis.prior) for p in self.all if p.matches.holds(alertname, labels)]
        return sorted(found, key=lambda item: (-item[1], item[0].id))

    def log_patterns(self) -> dict[str, list[re.Pattern[str]]]:
        """Every log category any playbook defines, with all of its regexes."""
        union: dict[str, list[re.Pattern[str]]] = {}
        for playbook in self.all:
            for pattern in playbook.steps.logs.patterns:
                union.setdefault(pattern.category, []).append(pattern.regex)
        return union


#: (index of the playbook in the sequence, or None for the set as a whole; location; message)
SetProblem = tuple[int | None, Loc, str]


def set_problems(
    playbooks: Sequence[Playbook], *, more_categories: frozenset[str] = frozenset(),
    generic_elsewhere: bool = False,
) -> list[SetProblem]:
    """What is wrong with these playbooks together.

    ``more_categories`` and ``generic_elsewhere`` describe files that failed to load, so
    their log categories and generic flag do not cause false problems in the others.
    """
    problems: list[SetProblem] = []
    seen: set[str] = set()
    for index, playbook in enumerate(playbooks):
        if playbook.id in seen:
            problems.append((index, ("id",), f"duplicate playbook id {playbook.id!r}"))
        seen.add(playbook.id)
    generic = [index for index, p in enumerate(playbooks) if p.generic]
    if not generic and not generic_elsewhere:
        problems.append((None, (), "no generic playbook (one needs generic: true, the fallback "
                                   "for alerts nothing else explains)"))
    problems.extend((index, ("generic",), "more than one generic playbook "
                     f"({', '.join(playbooks[i].id for i in generic)})") for index in generic[1:])
    categories = more_categories | {p.category for pb in playbooks for p in pb.steps.logs.patterns}
    for index, playbook in enumerate(playbooks):
        problems.extend((index, loc, message)
                        for loc, message in _playbook_problems(playbook, categories))
    return problems


def _playbook_problems(playbook: Playbook, categories: frozenset[str]) -> Iterator[tuple[Loc, str]]:
    local = {q.signal for q in playbook.steps.metrics.queries}
    for loc, kind, name in _references(playbook):
        if kind == "signal" and name.startswith("x.") and name not in local:
            yield loc, (f"signal {name!r} is not defined by this playbook's "
                        "steps.metrics.queries")
        if kind == "log" and name not in categories:
            yield loc, (f"log category {name!r} is not defined by any playbook's "
                        f"steps.logs.patterns (defined: {', '.join(sorted(categories))})")
    for section, items, attr in (
        ("findings", playbook.findings, "key"),
        ("frames", playbook.steps.profile.frames, "key"),
        ("queries", playbook.steps.metrics.queries, "name"),
        ("queries", playbook.steps.metrics.queries, "signal"),
    ):
        yield from _duplicates(section, items, attr)


_SECTIONS: Mapping[str, Loc] = {
    "findings": ("findings",), "frames": ("steps", "profile", "frames"),
    "queries": ("steps", "metrics", "queries"),
}


def _duplicates(section: str, items: Sequence[BaseModel], attr: str) -> Iterator[tuple[Loc, str]]:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        value = str(getattr(item, attr))
        if value in first:
            path = ".".join(str(part) for part in _SECTIONS[section])
            yield ((*_SECTIONS[section], index, attr),
                   f"duplicate {attr} {value!r} (also {path}[{first[value]}])")
        first.setdefault(value, index)


def _references(playbook: Playbook) -> Iterator[tuple[Loc, Literal["signal", "log"], str]]:
    """Every signal and log category named by a condition or a text template."""
    texts: list[tuple[Loc, str]] = []
    conditions: list[tuple[Loc, Condition]] = []
    for index, rule in enumerate(playbook.findings):
        conditions.append((("findings", index, "when"), rule.when))
        texts += [(("findings", index, "title"), rule.title),
                  (("findings", index, "summary"), rule.summary)]
    for kind in ("supports", "contradicts"):
        for index, weighted in enumerate(getattr(playbook.diagnosis, kind)):
            conditions.append((("diagnosis", kind, index, "when"), weighted.when))
            texts.append((("diagnosis", kind, index, "because"), weighted.because))
    cause_conditions, cause_texts = _cause_references(playbook)
    conditions += cause_conditions
    texts += cause_texts
    for loc, condition in conditions:
        combined = "all" if isinstance(condition, AllOf) else "any"
        for position, leaf in enumerate(leaves(condition)):
            where: Loc = (*loc, combined, position) if isinstance(condition, AllOf | AnyOf) else loc
            if isinstance(leaf, SignalCondition):
                yield (*where, "signal"), "signal", leaf.signal
            elif isinstance(leaf, LogCondition):
                yield (*where, "log"), "log", leaf.log
    for loc, text in texts:
        yield from ((loc, "signal", arg) for name, arg in template_fields(text)
                    if name == "signal" and arg)


def _cause_references(playbook: Playbook) -> tuple[list[tuple[Loc, Condition]],
                                                   list[tuple[Loc, str]]]:
    """The conditions and text templates of the playbook's causes, with their locations."""
    conditions: list[tuple[Loc, Condition]] = []
    texts: list[tuple[Loc, str]] = []
    for number, cause in enumerate(playbook.causes):
        texts.append((("causes", number, "reproduce"), cause.reproduce))
        for kind in ("supports", "contradicts"):
            for index, weighted in enumerate(getattr(cause, kind)):
                conditions.append((("causes", number, kind, index, "when"), weighted.when))
                texts.append((("causes", number, kind, index, "because"), weighted.because))
    return conditions, texts


def _playbook_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def _load_file(path: Path) -> tuple[YamlDocument | None, Playbook | None, list[Problem]]:
    document, problems = read_yaml(path)
    if document is None:
        return None, None, problems
    data = document.data
    if not isinstance(data, dict):
        return document, None, [*problems, document.problem(
            (), "a playbook is a mapping (id, title, summary, matches, steps, ...)")]
    if isinstance(data.get("id"), str) and data["id"] != path.stem:
        problems.append(document.problem(
            ("id",), f"id: {data['id']!r} must equal the file name's stem {path.stem!r}"))
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        return document, None, [*problems, *validation_problems(document, exc)]
    return document, (playbook if not problems else None), problems


def _raw_hints(documents: Sequence[YamlDocument]) -> tuple[frozenset[str], bool]:
    """Log categories and the generic flag of files that did not validate, read leniently."""
    categories: set[str] = set()
    generic = False
    for document in documents:
        data = document.data if isinstance(document.data, dict) else {}
        generic = generic or data.get("generic") is True
        steps = data.get("steps")
        logs = steps.get("logs") if isinstance(steps, dict) else None
        patterns = logs.get("patterns") if isinstance(logs, dict) else None
        for item in patterns if isinstance(patterns, list) else []:
            if isinstance(item, dict) and isinstance(item.get("category"), str):
                categories.add(item["category"])
    return frozenset(categories), generic


def _check(directory: Path) -> tuple[list[Playbook], list[Problem]]:
    if not directory.is_dir():
        return [], [Problem(str(directory), 0, 0, "not a directory of playbooks")]
    problems: list[Problem] = []
    loaded: list[tuple[YamlDocument, Playbook]] = []
    failed: list[YamlDocument] = []
    for path in _playbook_files(directory):
        document, playbook, found = _load_file(path)
        problems += found
        if document is not None and playbook is not None:
            loaded.append((document, playbook))
        elif document is not None:
            failed.append(document)
    categories, generic = _raw_hints(failed)
    playbooks = [playbook for _, playbook in loaded]
    for index, loc, message in set_problems(playbooks, more_categories=categories,
                                            generic_elsewhere=generic):
        if index is None:
            problems.append(Problem(str(directory), 0, 0, message))
        else:
            prefix = f"{dotted(loc)}: " if loc else ""
            problems.append(loaded[index][0].problem(loc, prefix + message))
    return playbooks, problems


def check_playbooks(directory: Path) -> list[Problem]:
    """Every problem in the playbooks of ``directory`` (empty when all is well)."""
    return _check(directory)[1]


def load_playbooks(directory: Path) -> PlaybookSet:
    """Load and validate ``directory/*.yaml``; ConfigError listing every problem otherwise."""
    playbooks, problems = _check(directory)
    if problems:
        raise ConfigError(f"{directory}: {len(problems)} playbook problem(s):\n"
                          + "\n".join(f"  {problem}" for problem in problems))
    return PlaybookSet(playbooks)
