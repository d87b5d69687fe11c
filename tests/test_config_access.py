"""The ``access`` block: validated with file:line problems, absent means a warning."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli.check import add_check_command, check_config
from bot.config import settings_from_mapping
from tests.conftest import ROOT

PLAYBOOKS = ROOT / "bot" / "playbooks"


def run_check(config: Path) -> int:
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_check_command(parser.add_subparsers())
    args = parser.parse_args(["check", "--config", str(config), "--playbooks", str(PLAYBOOKS)])
    code: int = args.func(args)
    return code


def test_the_example_configuration_has_an_access_block() -> None:
    settings, problems = check_config(ROOT / "triage.example.yaml", {})
    assert problems == [] and settings is not None and settings.file.access is not None
    access = settings.file.access
    assert access.max_profile_seconds == 60 and access.profile_cooldown == 120.0


def test_wrong_ids_and_limits_are_reported_by_line(tmp_path: Path) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("services: []\naccess:\n  responders: [U0ALICE, alice]\n"
                      "  max_profile_seconds: 0\n  profile_cooldown: soon\n", encoding="utf-8")
    _, problems = check_config(config, {})
    shown = sorted(str(p) for p in problems)
    assert any(s.startswith(f"{config}:3:") and "'alice'" in s and "user-group id" in s
               for s in shown), shown
    assert any(s.startswith(f"{config}:4:") for s in shown), shown
    assert any(s.startswith(f"{config}:5:") and "invalid duration" in s for s in shown), shown


def test_a_missing_access_block_is_a_warning_not_a_failure(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "triage.yaml"
    config.write_text("services:\n  - name: checkout\n", encoding="utf-8")
    assert run_check(config) == 0
    captured = capsys.readouterr()
    assert "warning: no `access` block: everyone may act" in captured.err
    assert captured.out.startswith("OK: ")


def test_team_id_must_look_like_a_workspace_id() -> None:
    with pytest.raises(Exception, match=r"slack\.team_id"):
        settings_from_mapping({"slack": {"team_id": "my-team"}}, {})
