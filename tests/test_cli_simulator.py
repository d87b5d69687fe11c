"""``demo`` and ``sim`` without the simulators installed: a clear message and exit 2.

(The same, from a wheel installed into a fresh venv, in tests/packaging/test_wheel.py.)
"""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import pytest

from bot import cli
from bot.cli import simulator


def _hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str) -> ModuleSpec | None:
        return None if name in names else real(name)

    monkeypatch.setattr(simulator, "find_spec", find_spec)


@pytest.mark.parametrize("hidden", [("triage_sim",), ("fakeredis",), ("triage_sim", "fakeredis")])
@pytest.mark.parametrize("argv", [["demo"], ["demo", "--list"], ["sim", "list"],
                                  ["sim", "serve", "--scenario", "memory-growth"],
                                  ["sim", "record", "--all"]])
def test_simulator_commands_name_the_extra_when_it_is_missing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str], hidden: tuple[str, ...]) -> None:
    _hide(monkeypatch, *hidden)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"triage-bot {argv[0]} needs the demo extra: "
                          "pip install 'triage-bot[demo]'\n")
    assert "./sim" in err and ", ".join(hidden) in err
    assert out == ""


def test_no_in_memory_redis_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "fakeredis")
    assert simulator.in_memory_redis_or_none() is None


def test_with_the_extra_nothing_is_missing() -> None:
    assert simulator.missing_simulator_modules() == []
