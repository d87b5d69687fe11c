"""`triage-bot pprof top|diff`: in-process through add_pprof_commands, and once as a process."""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.pprof import add_pprof_commands
from tests.sources.pprof.conftest import (
    FIB_CPU,
    FLAMEGRAPH_DIR,
    GO_REFERENCE_DIR,
    HEAP_T1,
    HEAP_T2,
    PPROF_DIR,
    ROOT,
    SAMPLE_CPU,
)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="triage-bot")
    add_pprof_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def reference(name: str) -> str:
    return (GO_REFERENCE_DIR / f"{name}.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([str(PPROF_DIR / FIB_CPU)], "fib.default"),
        ([str(PPROF_DIR / FIB_CPU), "--cum"], "fib.cum"),
        ([str(PPROF_DIR / FIB_CPU), "-n", "10"], "fib.nodecount10"),
        ([str(PPROF_DIR / SAMPLE_CPU), "--sample-index", "samples"], "sample-cpu.samples"),
        ([str(PPROF_DIR / HEAP_T2), "--sample-index=alloc_objects", "-n", "12"],
         "heap-t2.alloc_objects.nodecount12"),
        ([str(PPROF_DIR / HEAP_T2), "--node-fraction", "0", "--edge-fraction", "0"],
         "heap-t2.nofraction"),
    ],
)
def test_top_prints_what_go_tool_pprof_prints(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["pprof", "top", *argv]) == 0
    out, err = capsys.readouterr()
    assert out == reference(expected)
    assert err == ""


def test_top_reads_an_uncompressed_profile_and_a_flamegraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    plain = tmp_path / "fib.pb"
    plain.write_bytes(gzip.decompress((PPROF_DIR / FIB_CPU).read_bytes()))
    assert run(["pprof", "top", str(plain)]) == 0
    assert capsys.readouterr().out == reference("fib.default")
    assert run(["pprof", "top", str(FLAMEGRAPH_DIR / "inferno_austin_python.svg"), "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["Type: samples", "Showing nodes accounting for 291, 100% of 291 total",
                         "Showing top 2 nodes out of 11"]


def test_diff_prints_grown_functions_and_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["pprof", "diff", str(PPROF_DIR / HEAP_T1), str(PPROF_DIR / HEAP_T2),
                "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Type: inuse_space\nTotal: 46.66MB -> 137.04MB (+90.38MB)\n")
    assert "+83.20MB     +83.20MB      83.20MB      83.20MB  " \
           "github.com/dgraph-io/badger/v3/skl.newArena" in out
    assert "<- github.com/dgraph-io/badger/v3/skl.NewSkiplist" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["top", "/nonexistent/cpu.pb.gz"],
         "triage-bot pprof: /nonexistent/cpu.pb.gz: cannot read: No such file or directory"),
        (["top", str(FLAMEGRAPH_DIR.parent / "PROVENANCE.md")],
         "not a profile.proto message"),
        (["top", str(PPROF_DIR / FIB_CPU), "--sample-index", "inuse_space"],
         "unknown sample type 'inuse_space': this profile has samples, cpu"),
        (["diff", str(PPROF_DIR / FIB_CPU), str(PPROF_DIR / HEAP_T2)],
         "unknown sample type 'inuse_space': this profile has samples, cpu"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["pprof", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err
    assert err.count("\n") == 1 and err.startswith("triage-bot pprof: ")


def test_the_installed_command_path() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "pprof", "top", str(PPROF_DIR / SAMPLE_CPU)],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == reference("sample-cpu.default")
