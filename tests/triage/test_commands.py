"""The /triage command language."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.models import Severity, parse_incident_ref
from bot.models import commands as cmd


def is_ref(word: str) -> bool:
    return parse_incident_ref(word) is not None or word in {"checkout", "search"}


@pytest.mark.parametrize(("text", "expected"), [
    ("", cmd.Help()),
    ("help", cmd.Help()),
    ("list", cmd.ListOpen()),
    ("SERVICES", cmd.Services()),
    ("start", cmd.Start(service=None)),
    ("start checkout p99 is high --severity=crit",
     cmd.Start("checkout", "p99 is high", Severity.CRITICAL)),
    ("status", cmd.Status(None)),
    ("status inc-4", cmd.Status("inc-4")),
    ("note checkout pool is exhausted", cmd.Note("checkout", "pool is exhausted")),
    ("note pool is exhausted", cmd.Note(None, "pool is exhausted")),
    ("note INC-3 rolled back", cmd.Note("INC-3", "rolled back")),
    ("assign <@U0BOB|bob>", cmd.Assign(None, "U0BOB")),
    ("assign INC-2 <@W0ALICE>", cmd.Assign("INC-2", "W0ALICE")),
    ("resolve", cmd.Resolve(None, "")),
    ("resolve search fixed by restart", cmd.Resolve("search", "fixed by restart")),
    ("metrics", cmd.RunStep("metrics", None)),
    ("profile checkout", cmd.RunStep("profile", "checkout")),
    ("rca", cmd.RcaCommand(None)),
    ("rca INC-4", cmd.RcaCommand("INC-4")),
    ("rca export", cmd.RcaCommand(None, export=True)),
    ("rca export checkout", cmd.RcaCommand("checkout", export=True)),
])
def test_parses(text: str, expected: cmd.Command) -> None:
    assert cmd.parse_command(text, is_ref) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("deploy checkout", "Unknown command `deploy`"),
    ("note", "`note` needs the text"),
    ("note INC-3", "`note` needs the text"),
    ("assign bob", "needs exactly one @mention"),
    ("assign <@U1> <@U2>", "needs exactly one @mention"),
    ("status a b", "at most one reference"),
    ("list all", "`list` takes no arguments"),
    ("logs a b", "`logs` takes at most one reference"),
])
def test_rejects_with_usage(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        cmd.parse_command(text, is_ref)
    assert message in str(info.value)
    assert "/triage" in str(info.value)


def test_incident_refs() -> None:
    assert parse_incident_ref("inc-12") == "INC-12"
    assert parse_incident_ref("#7") == "INC-7"
    assert parse_incident_ref("checkout") is None
    assert parse_incident_ref("INC-") is None
