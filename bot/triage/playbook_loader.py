"""Load the playbooks, and report every problem in them with file, line and column.

Locations come from bot/triage/playbook_yaml.py, so a responder fixing a playbook sees all of
its problems at once, not one per run. Checks that span files (duplicate ids, the one generic
playbook, log categories defined somewhere, ``x.*`` signals defined by the playbook's own
queries) run on the set, with the same locations.

The built-in playbooks are package data (``bot/playbooks/*.yaml``, read with
``importlib.resources``), so an installed bot finds them from any working directory. A
directory of the team's (``TRIAGE_PLAYBOOKS``) adds playbooks, and a file there whose id (its
file name's stem) is a built-in's replaces that built-in: ``load_playbook_set``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePath
from typing import Literal

from pydantic import BaseModel, ValidationError

from bot.errors import ConfigError
from bot.triage.playbook import (
    AllOf,
    AnyOf,
    Condition,
    LogCondition,
    Playbook,
    SignalCondition,
    leaves,
)
from bot.triage.playbook_values import Loc, template_fields
from bot.triage.playbook_yaml import (
    Problem,
    YamlDocument,
    dotted,
    read_yaml,
    validation_problems,
)

__all__ = [
    "BUILTIN_PACKAGE",
    "PlaybookSet",
    "PlaybookSources",
    "Problem",
    "YamlDocument",
    "builtin_playbooks",
    "check_playbook_set",
    "check_playbooks",
    "dotted",
    "load_playbook_set",
    "load_playbooks",
    "playbook_sources",
    "read_yaml",
    "set_problems",
    "validation_problems",
]

_SUFFIXES = (".yaml", ".yml")
#: The package whose data files are the built-in playbooks.
BUILTIN_PACKAGE = "bot.playbooks"


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


def _playbook_files(directory: Traversable) -> list[Traversable]:
    return sorted((p for p in directory.iterdir()
                   if PurePath(p.name).suffix in _SUFFIXES and p.is_file()),
                  key=lambda p: p.name)


def builtin_playbooks() -> Traversable:
    """The folder of the built-in playbooks inside the installed package."""
    return files(BUILTIN_PACKAGE)


@dataclass(frozen=True)
class PlaybookSources:
    """The playbook files to load: the built-ins, overlaid by the team's directory."""

    files: tuple[Traversable, ...]
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    def describe(self, extra: Path | None) -> str:
        """``7 playbooks (a, b, ...); from DIR: 1 added, 1 replacing a built-in (x)``."""
        ids = ", ".join(PurePath(f.name).stem for f in self.files)
        text = f"{len(self.files)} playbooks ({ids})"
        if extra is not None:
            replaced = f" ({', '.join(self.replaced)})" if self.replaced else ""
            text += (f"; from {extra}: {len(self.added)} added, {len(self.replaced)} "
                     f"replacing a built-in{replaced}")
        return text


def playbook_sources(extra: Path | None) -> PlaybookSources:
    """The built-in playbook files, with ``extra``'s files added or replacing by id."""
    chosen = {PurePath(f.name).stem: f for f in _playbook_files(builtin_playbooks())}
    if extra is None:
        return PlaybookSources(tuple(chosen.values()))
    if not extra.is_dir():
        return PlaybookSources(tuple(chosen.values()), problems=(Problem(
            str(extra), 0, 0, "not a directory of playbooks (TRIAGE_PLAYBOOKS or "
                              "--playbooks: a folder of *.yaml files)"),))
    added: list[str] = []
    replaced: list[str] = []
    for path in _playbook_files(extra):
        stem = PurePath(path.name).stem
        (replaced if stem in chosen else added).append(stem)
        chosen[stem] = path
    return PlaybookSources(tuple(sorted(chosen.values(), key=lambda f: f.name)),
                           tuple(added), tuple(replaced))


def _load_file(path: Traversable) -> tuple[YamlDocument | None, Playbook | None, list[Problem]]:
    document, problems = read_yaml(path)
    if document is None:
        return None, None, problems
    data = document.data
    if not isinstance(data, dict):
        return document, None, [*problems, document.problem(
            (), "a playbook is a mapping (id, title, summary, matches, steps, ...)")]
    stem = PurePath(path.name).stem
    if isinstance(data.get("id"), str) and data["id"] != stem:
        problems.append(document.problem(
            ("id",), f"id: {data['id']!r} must equal the file name's stem {stem!r}"))
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
    return _check_files(_playbook_files(directory), str(directory))


def _check_files(paths: Sequence[Traversable], where: str,
                 ) -> tuple[list[Playbook], list[Problem]]:
    problems: list[Problem] = []
    loaded: list[tuple[YamlDocument, Playbook]] = []
    failed: list[YamlDocument] = []
    for path in paths:
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
            problems.append(Problem(where, 0, 0, message))
        else:
            prefix = f"{dotted(loc)}: " if loc else ""
            problems.append(loaded[index][0].problem(loc, prefix + message))
    return playbooks, problems


def check_playbooks(directory: Path) -> list[Problem]:
    """Every problem in the playbooks of ``directory`` alone (empty when all is well)."""
    return _check(directory)[1]


def load_playbooks(directory: Path) -> PlaybookSet:
    """Load and validate ``directory/*.yaml`` alone; ConfigError listing every problem."""
    playbooks, problems = _check(directory)
    if problems:
        raise ConfigError(f"{directory}: {len(problems)} playbook problem(s):\n"
                          + "\n".join(f"  {problem}" for problem in problems))
    return PlaybookSet(playbooks)


def _check_set(extra: Path | None) -> tuple[list[Playbook], list[Problem]]:
    sources = playbook_sources(extra)
    if sources.problems:
        return [], list(sources.problems)
    return _check_files(sources.files, str(extra or builtin_playbooks()))


def check_playbook_set(extra: Path | None) -> list[Problem]:
    """Every problem in the built-in playbooks overlaid by ``extra`` (a directory, or None)."""
    return _check_set(extra)[1]


def load_playbook_set(extra: Path | None) -> PlaybookSet:
    """The built-in playbooks, with ``extra``'s added or replacing them by id.

    ConfigError listing every problem (file:line:col) when any file, or the set, is wrong.
    """
    playbooks, problems = _check_set(extra)
    if problems:
        where = extra or "built-in playbooks"
        raise ConfigError(f"{where}: {len(problems)} playbook problem(s):\n"
                          + "\n".join(f"  {problem}" for problem in problems))
    return PlaybookSet(playbooks)
