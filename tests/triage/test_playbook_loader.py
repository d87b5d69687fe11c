"""The loader reports every problem of every file, each at its exact file and line.

Broken playbooks are written to a temporary directory next to a valid generic playbook; the
line a problem must point at is marked in the YAML with a ``# <-name`` comment.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from bot.errors import ConfigError
from bot.triage.playbook import Playbook
from bot.triage.playbook_loader import (
    PlaybookSet,
    Problem,
    builtin_playbooks,
    check_playbook_set,
    check_playbooks,
    load_playbook_set,
    load_playbooks,
    playbook_sources,
)

DATA = Path(__file__).parent / "data"
_MARK = re.compile(r"#\s*<-(\S+)")


@pytest.fixture
def playbook_dir(tmp_path: Path) -> Path:
    shutil.copy(DATA / "generic.yaml", tmp_path / "generic.yaml")
    return tmp_path


def write(directory: Path, name: str, text: str) -> tuple[str, dict[str, int]]:
    """Write a playbook; return its path and the line number of each ``# <-mark``."""
    text = dedent(text).lstrip("\n")
    path = directory / name
    path.write_text(text, encoding="utf-8")
    marks = {m.group(1): number for number, line in enumerate(text.splitlines(), start=1)
             for m in _MARK.finditer(line)}
    return str(path), marks


def at(problems: list[Problem], file: str, line: int) -> list[str]:
    """Messages of the problems at ``file:line``."""
    return [p.message for p in problems if p.file == file and p.line == line]


def test_every_problem_of_a_file_is_reported_with_its_line(playbook_dir: Path) -> None:
    path, marks = write(playbook_dir, "broken.yaml", """
        id: broken
        title: Broken
        summary: Everything is wrong here.
        summry: typo                                   # <-unknown-top
        steps:
          metrics:
            queries:
              - name: q
                promql: 'max({rsss}{selector})'        # <-placeholder
                signal: x.q
          logs:
            patterns:
              - category: pool_timeout
                regex: 'fine'
              - category: stuck
                regex: '(unclosed'                     # <-regex
          profile:
            frams: []                                  # <-unknown-nested
        findings:
          - key: a
            when: {signal: tokio.busy_ratio, op: ">=", value: 0.9}
            title: ok
          - key: b
            when: {signal: tokio.bussy_ratio, op: ">", value: 1}   # <-signal
            title: "typo in signal"
          - key: c
            when:
              all:
                - {signal: rss.bytes, op: ">", value: 1GiB}
                - {frame: 'std::fs::', min_share: lots}           # <-type
            title: "{valu} of it"                                 # <-template
        diagnosis:
          prior: high                                              # <-prior
    """)
    problems = check_playbooks(playbook_dir)
    assert at(problems, path, marks["unknown-top"]) == ["unknown key 'summry'"]
    assert at(problems, path, marks["unknown-nested"]) == ["steps.profile: unknown key 'frams'"]
    [placeholder] = at(problems, path, marks["placeholder"])
    assert placeholder.startswith("steps.metrics.queries[0].promql: unknown placeholder {rsss}")
    assert at(problems, path, marks["regex"]) == [
        "steps.logs.patterns[1].regex: bad regular expression '(unclosed': "
        "missing ), unterminated subpattern at position 0"]
    [signal] = at(problems, path, marks["signal"])
    assert signal.startswith("findings[1].when.signal: unknown signal 'tokio.bussy_ratio': "
                             "did you mean 'tokio.busy_ratio'?")
    [wrong_type] = at(problems, path, marks["type"])
    assert wrong_type.startswith("findings[2].when.all[1].min_share: Input should be a valid "
                                 "number")
    [template] = at(problems, path, marks["template"])
    assert template.startswith("findings[2].title: unknown placeholder {valu}")
    [prior] = at(problems, path, marks["prior"])
    assert prior.startswith("diagnosis.prior: Input should be a valid number")
    assert len([p for p in problems if p.file == path]) == 8


def test_columns_point_at_the_key_or_the_value(playbook_dir: Path) -> None:
    path, marks = write(playbook_dir, "cols.yaml", """
        id: cols
        title: Columns
        summary: s
        findings:
          - key: a
            when: {signal: nope, op: ">", value: 1}   # <-signal
            title: t
            colour: red                               # <-extra
    """)
    problems = {str(p) for p in check_playbooks(playbook_dir)}
    assert f"{path}:{marks['signal']}:20: findings[0].when.signal: unknown signal 'nope': use a " \
           "name from bot/triage/signal_names.py (e.g. tokio.busy_ratio) or a playbook-local " \
           "x.name defined by steps.metrics.queries" in problems
    assert f"{path}:{marks['extra']}:5: findings[0]: unknown key 'colour'" in problems


def test_cross_references_are_checked_across_files(playbook_dir: Path) -> None:
    path, marks = write(playbook_dir, "refs.yaml", """
        id: refs
        title: References
        summary: s
        steps:
          metrics:
            queries:
              - name: defined
                promql: '{rss}{selector}'
                signal: x.defined
              - name: again
                promql: '{rss}{selector}'
                signal: x.defined                      # <-dup-signal
        findings:
          - key: uses-panic
            when: {log: panic}
            title: "defined by generic.yaml"
          - key: uses-unknown
            when: {log: pool_exhaustion}              # <-category
            title: t
          - key: local
            when: {signal: x.undefined, op: ">", value: 1}   # <-local
            title: "{signal:x.other}"                        # <-text-signal
          - key: local                                        # <-dup-key
            when: {signal: x.defined, op: ">", value: 1}
            title: t
    """)
    problems = check_playbooks(playbook_dir)
    assert at(problems, path, marks["category"]) == [
        "findings[1].when.log: log category 'pool_exhaustion' is not defined by any "
        "playbook's steps.logs.patterns (defined: panic)"]
    assert at(problems, path, marks["local"]) == [
        "findings[2].when.signal: signal 'x.undefined' is not defined by this playbook's "
        "steps.metrics.queries"]
    assert at(problems, path, marks["text-signal"]) == [
        "findings[2].title: signal 'x.other' is not defined by this playbook's "
        "steps.metrics.queries"]
    assert at(problems, path, marks["dup-key"]) == [
        "findings[3].key: duplicate key 'local' (also findings[2])"]
    assert at(problems, path, marks["dup-signal"]) == [
        "steps.metrics.queries[1].signal: duplicate signal 'x.defined' "
        "(also steps.metrics.queries[0])"]
    assert len(problems) == 5


def test_duplicate_ids_and_ids_that_are_not_the_file_name(playbook_dir: Path) -> None:
    first, _ = write(playbook_dir, "twin.yaml", "id: twin\ntitle: T\nsummary: s\n")
    second, marks = write(playbook_dir, "twin.yml", """
        title: T
        summary: s
        id: twin   # <-id
    """)
    named, named_marks = write(playbook_dir, "named.yaml", """
        id: other   # <-id
        title: T
        summary: s
    """)
    problems = check_playbooks(playbook_dir)
    assert at(problems, second, marks["id"]) == ["id: duplicate playbook id 'twin'"]
    assert at(problems, named, named_marks["id"]) == [
        "id: 'other' must equal the file name's stem 'named'"]
    assert not [p for p in problems if p.file == first]


def test_missing_generic_playbook_is_a_directory_problem(tmp_path: Path) -> None:
    write(tmp_path, "only.yaml", "id: only\ntitle: T\nsummary: s\n")
    assert [str(p) for p in check_playbooks(tmp_path)] == [
        f"{tmp_path}: no generic playbook (one needs generic: true, the fallback for alerts "
        "nothing else explains)"]


def test_a_broken_generic_file_does_not_cause_false_problems_elsewhere(tmp_path: Path) -> None:
    generic, marks = write(tmp_path, "generic.yaml", """
        id: generic
        title: G
        summary: s
        generic: true
        steps:
          logs:
            patterns:
              - {category: panic, regex: "panicked at"}
        findings: nope   # <-type
    """)
    write(tmp_path, "user.yaml", "id: user\ntitle: U\nsummary: s\n"
                                 "findings:\n  - {key: p, when: {log: panic}, title: t}\n")
    problems = check_playbooks(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(generic, marks["type"])]


def test_yaml_syntax_errors_and_duplicate_keys(playbook_dir: Path) -> None:
    bad, _ = write(playbook_dir, "syntax.yaml", "id: syntax\ntitle: [unclosed\nsummary: s\n")
    dup, marks = write(playbook_dir, "dup.yaml", """
        id: dup
        title: T
        summary: s
        title: Again   # <-dup
    """)
    problems = check_playbooks(playbook_dir)
    [syntax] = [p for p in problems if p.file == bad]
    assert syntax.line == 3 and syntax.message.startswith("not valid YAML")
    assert at(problems, dup, marks["dup"]) == ["duplicate key 'title' (first at line 2)"]


@pytest.mark.parametrize(("when", "message"), [
    ('{foo: 1}', "a condition needs one of signal, frame, log, span, all or any"),
    ('{all: [{any: [{log: panic}]}]}', "inside all/any, each item needs one of signal, frame, "
                                        "log or span (one level deep)"),
    ('{signal: rss.bytes, op: "=>", value: 1}', "Input should be '>', '>=', '<', '<=' or '=='"),
    ('{span: queueing, min_share: 0.1}', "unknown span category 'queueing'"),
    ('{frame: "[", min_share: 2}', "bad regular expression '['"),
])
def test_condition_errors(playbook_dir: Path, when: str, message: str) -> None:
    path, marks = write(playbook_dir, "cond.yaml", f"""
        id: cond
        title: T
        summary: s
        findings:
          - key: k
            title: t
            when: {when}   # <-when
    """)
    problems = check_playbooks(playbook_dir)
    assert problems, "expected a problem"
    assert all(p.file == path and p.line == marks["when"] for p in problems)
    assert any(message in p.message for p in problems)


def test_top_level_must_be_a_mapping(playbook_dir: Path) -> None:
    path, _ = write(playbook_dir, "list.yaml", "- id: list\n")
    assert [str(p) for p in check_playbooks(playbook_dir)] == [
        f"{path}:1:1: a playbook is a mapping (id, title, summary, matches, steps, ...)"]


def test_missing_keys_point_at_the_mapping(playbook_dir: Path) -> None:
    path, marks = write(playbook_dir, "missing.yaml", """
        id: missing
        title: T
        summary: s
        findings:
          - key: k          # <-item
            when: {log: panic}
    """)
    assert at(check_playbooks(playbook_dir), path, marks["item"]) == [
        "findings[0]: missing key 'title'"]


def test_load_raises_one_error_listing_every_problem(playbook_dir: Path) -> None:
    write(playbook_dir, "a.yaml", "id: a\ntitle: T\nsummary: s\nx: 1\ny: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_playbooks(playbook_dir)
    text = str(caught.value)
    assert "2 playbook problem(s)" in text
    assert "a.yaml:4:1: unknown key 'x'" in text and "a.yaml:5:1: unknown key 'y'" in text


def test_not_a_directory(tmp_path: Path) -> None:
    assert [p.message for p in check_playbooks(tmp_path / "nope")] == [
        "not a directory of playbooks"]


def test_playbook_set_checks_itself() -> None:
    loose = Playbook.model_validate({"id": "a", "title": "A", "summary": "s"})
    with pytest.raises(ConfigError, match="no generic playbook"):
        PlaybookSet([loose])
    generic = Playbook.model_validate({"id": "g", "title": "G", "summary": "s", "generic": True})
    playbooks = PlaybookSet([loose, generic])
    assert playbooks.get("a") is loose and playbooks.get("zz") is None
    assert playbooks.generic is generic
    assert [p.id for p in playbooks.all] == ["a", "g"]


# -- the built-in playbooks (package data) and the team's directory over them ---------------

BUILTIN_IDS = ["async-deadlock", "cpu-spike", "generic", "memory-growth", "p99-latency",
               "task-leak", "tokio-starvation"]


def test_built_in_playbooks_load_from_the_package_whatever_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    playbooks = load_playbook_set(None)
    assert [p.id for p in playbooks.all] == BUILTIN_IDS
    assert check_playbook_set(None) == []
    files = playbook_sources(None).files
    assert all(str(f).startswith(str(builtin_playbooks())) for f in files)


def test_the_team_directory_adds_playbooks_and_replaces_built_ins_by_id(tmp_path: Path) -> None:
    built_in = Path(str(builtin_playbooks()))
    text = (built_in / "memory-growth.yaml").read_text(encoding="utf-8")
    (tmp_path / "memory-growth.yaml").write_text(
        text.replace("title:", "title: Ours -", 1), encoding="utf-8")
    shutil.copy(built_in / "cpu-spike.yaml", tmp_path / "db-cpu.yaml")
    copied = (tmp_path / "db-cpu.yaml").read_text(encoding="utf-8")
    (tmp_path / "db-cpu.yaml").write_text(copied.replace("id: cpu-spike", "id: db-cpu", 1),
                                          encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a playbook")
    playbooks = load_playbook_set(tmp_path)
    assert [p.id for p in playbooks.all] == sorted([*BUILTIN_IDS, "db-cpu"])
    replaced = playbooks.get("memory-growth")
    assert replaced is not None and replaced.title.startswith("Ours -")
    sources = playbook_sources(tmp_path)
    assert sources.added == ("db-cpu",) and sources.replaced == ("memory-growth",)
    assert sources.describe(tmp_path).endswith(
        f"from {tmp_path}: 1 added, 1 replacing a built-in (memory-growth)")


def test_a_team_playbook_problem_is_reported_at_its_own_file_and_line(tmp_path: Path) -> None:
    path, marks = write(tmp_path, "generic.yaml", """
        id: generic
        title: Ours
        summary: s
        generic: true
        colour: red                              # <-extra
        """)
    problems = [str(p) for p in check_playbook_set(tmp_path)]
    # Replacing the built-in generic playbook also drops the log categories it defines, which
    # other built-ins' causes use: those are reported too, at their own files.
    assert problems[0] == f"{path}:{marks['extra']}:1: unknown key 'colour'"
    with pytest.raises(ConfigError, match=r"playbook problem\(s\)"):
        load_playbook_set(tmp_path)


def test_a_second_generic_playbook_is_named(tmp_path: Path) -> None:
    write(tmp_path, "fallback.yaml", "id: fallback\ntitle: F\nsummary: s\ngeneric: true\n")
    messages = [p.message for p in check_playbook_set(tmp_path)]
    assert "generic: more than one generic playbook (fallback, generic)" in messages


def test_triage_playbooks_that_is_no_directory_is_a_problem(tmp_path: Path) -> None:
    [problem] = check_playbook_set(tmp_path / "nope")
    assert problem.message.startswith("not a directory of playbooks")
