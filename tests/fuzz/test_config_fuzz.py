"""Property tests: the configuration loader raises only ConfigError, whatever the file holds.

``load_settings`` reads a YAML file and ``settings_from_mapping`` validates what it holds; both
are fed arbitrary YAML documents built from the configuration's own keys, the two shipped
files (triage.example.yaml, deploy/triage.yaml) mutated in 1-3 places, and the files' bytes
truncated or overwritten (invalid YAML, invalid UTF-8).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Settings, load_settings, parse_duration, parse_size, settings_from_mapping
from bot.errors import ConfigError
from tests.conftest import ROOT
from tests.fuzz.strategies import CONFIG_WORDS, FUZZ, json_values, mangled_bytes, mutated

SHIPPED = [ROOT / "triage.example.yaml", ROOT / "deploy" / "triage.yaml"]
ENV = {"SLACK_SIGNING_SECRET": "s", "PROMETHEUS_URL": "http://prometheus:9090"}


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory) / "triage.yaml"


def only_config_errors(path: Path, body: bytes) -> Settings | None:
    path.write_bytes(body)
    try:
        settings = load_settings(path, ENV)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return None
    assert settings.backends.prometheus == ENV["PROMETHEUS_URL"]
    return settings


def test_shipped_files_load(scratch: Path) -> None:
    for path in SHIPPED:
        assert only_config_errors(scratch, path.read_bytes()) is not None


@FUZZ
@given(doc=json_values(CONFIG_WORDS))
def test_arbitrary_documents(scratch: Path, doc: Any) -> None:
    only_config_errors(scratch, yaml.safe_dump(doc).encode())
    if isinstance(doc, dict):
        with contextlib.suppress(ConfigError):
            settings_from_mapping(doc, ENV)


@FUZZ
@given(data=st.data())
def test_mutated_shipped_files(scratch: Path, data: st.DataObject) -> None:
    original = yaml.safe_load(data.draw(st.sampled_from(SHIPPED)).read_text())
    only_config_errors(scratch, yaml.safe_dump(data.draw(mutated(original, CONFIG_WORDS)))
                       .encode())


@FUZZ
@given(data=st.data())
def test_mangled_shipped_files(scratch: Path, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SHIPPED)).read_bytes()
    only_config_errors(scratch, data.draw(mangled_bytes(original)))


@pytest.mark.parametrize("body", [
    b"\xff\xfe not utf-8", b"backends: 5", b"backends: [1, 2]", b"backends: abc",
    b"services: [{name: a, memory_limit: " + b"9" * 400 + b"GiB}]",
    b"schedule: {reminder_after: " + b"9" * 400 + b"s}",
    b"- just\n- a list", b"!!python/object:os.system {}", b"[" * 5000,
])
def test_found_crashes_are_config_errors(scratch: Path, body: bytes) -> None:
    assert only_config_errors(scratch, body) is None


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats()))
def test_sizes_and_durations_are_finite_or_refused(value: Any) -> None:
    for parse in (parse_size, parse_duration):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        assert math.isfinite(parsed)
