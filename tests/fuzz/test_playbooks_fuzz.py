"""Property tests: the playbook loader reports problems, and raises only ConfigError.

A scratch directory holds copies of the shipped playbooks; for each example one of them is
replaced by an arbitrary YAML document built from the playbook schema's keys, by a mutation of
itself in 1-3 places, or by its bytes truncated or overwritten. ``check_playbooks`` must return
a list of problems (never raise) and ``load_playbooks`` must load or raise ConfigError, and the
two must agree.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.triage.playbook_loader import Problem, check_playbooks, load_playbooks
from tests.conftest import ROOT
from tests.fuzz.strategies import (
    EXAMPLES,
    FUZZ,
    PLAYBOOK_WORDS,
    json_values,
    mangled_bytes,
    mutated,
)

SHIPPED = sorted((ROOT / "bot" / "playbooks").glob("*.yaml"))
NAMES = [path.name for path in SHIPPED]
# Each example validates the whole directory twice (~30 ms): two thirds of the usual count.
PLAYBOOK_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES * 2 // 3))


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        for path in SHIPPED:
            shutil.copy(path, directory)
        yield Path(directory)


def replaced(directory: Path, name: str, body: bytes) -> Iterator[None]:
    """``directory/name`` holds ``body`` while the check runs, then the shipped file again."""
    target = directory / name
    target.write_bytes(body)
    try:
        yield
    finally:
        shutil.copy(ROOT / "bot" / "playbooks" / name, target)


def only_config_errors(directory: Path, name: str, body: bytes) -> None:
    for _ in replaced(directory, name, body):
        problems = check_playbooks(directory)
        assert all(isinstance(p, Problem) and p.message for p in problems)
        try:
            loaded = load_playbooks(directory)
        except ConfigError as exc:
            assert problems or "playbook set" in str(exc)
        else:
            assert not problems and loaded.generic is not None


def test_shipped_playbooks_load(scratch: Path) -> None:
    assert check_playbooks(scratch) == []


@PLAYBOOK_FUZZ
@given(name=st.sampled_from(NAMES), doc=json_values(PLAYBOOK_WORDS))
def test_arbitrary_documents(scratch: Path, name: str, doc: Any) -> None:
    only_config_errors(scratch, name, yaml.safe_dump(doc).encode())


@PLAYBOOK_FUZZ
@given(data=st.data())
def test_mutated_playbooks(scratch: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES))
    original = yaml.safe_load((ROOT / "bot" / "playbooks" / name).read_text())
    doc = data.draw(mutated(original, PLAYBOOK_WORDS))
    only_config_errors(scratch, name, yaml.safe_dump(doc, allow_unicode=True).encode())


@PLAYBOOK_FUZZ
@given(data=st.data())
def test_mangled_playbooks(scratch: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES))
    only_config_errors(scratch, name, data.draw(mangled_bytes((ROOT / "bot" / "playbooks" / name)
                                                              .read_bytes())))


@pytest.mark.parametrize("body", [b"[" * 5000, b"{a: " * 3000, b"[" * 950 + b"]" * 950,
                                  b"\xff\xfe", b"- 1\n- 2", b"",
                                  b"id: generic\nid: generic\n", b"&a [*a]"])
def test_odd_files(scratch: Path, body: bytes) -> None:
    only_config_errors(scratch, "generic.yaml", body)
