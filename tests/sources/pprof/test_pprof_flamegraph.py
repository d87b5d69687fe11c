"""Flamegraph SVGs (inferno and flamegraph.pl) read back into frames and pprof-style totals.

Expected numbers are read from the fixtures' <title> elements (and, for self counts, are a
frame's count minus those of the frames drawn directly above it)."""

from __future__ import annotations

import re

import pytest

from bot.sources.pprof import (
    FlamegraphError,
    FunctionTotal,
    ValueType,
    decode,
    encode,
    read_flamegraph,
    render_top,
)
from tests.sources.pprof.conftest import FLAMEGRAPH_DIR

CPU_GREP = "flamegraph-pl_demos_cpu-grep.svg"
AUSTIN = "inferno_austin_python.svg"
DIFFERENTIAL = "inferno_differential_diff.svg"
VERTX = "inferno_perf-vertx-stacks-01-collapsed-all.svg"


def svg(name: str) -> bytes:
    return (FLAMEGRAPH_DIR / name).read_bytes()


def test_flamegraph_pl_layout_cpu_grep() -> None:
    graph = read_flamegraph(svg(CPU_GREP))
    assert graph.total == 48_414  # all (48,414 samples, 100%)
    assert len(graph.frames) == 33
    root = graph.frames[0]
    assert (root.name, root.depth, root.count, root.parent) == ("all", 0, 48_414, None)
    check = next(f for f in graph.frames if f.name == "grep`check_multibyte_string")
    assert check.count == 39_754
    # Drawn above it: _UTF8_mbrtowc 6,203 + mbrtowc 16,865 + xmalloc 20.
    assert check.self_count == 39_754 - 6_203 - 16_865 - 20
    assert graph.frames[check.parent or 0].name == "grep`EGexecute"
    totals = graph.totals()
    assert totals.sample_type == ValueType("samples", "count")
    assert totals.total == 48_414
    assert totals.top(3) == (
        FunctionTotal("libc.so.1`_UTF8_mbrtowc", 12_492 + 6_203, 12_492 + 6_203),
        FunctionTotal("grep`check_multibyte_string", 16_666, 39_754),
        FunctionTotal("libc.so.1`mbrtowc", 16_865 - 12_492 + 5_022, 16_865 + 5_022),
    )
    assert totals.get("grep`main") == FunctionTotal("grep`main", 0, 48_414)
    assert totals.get("all") is None  # the synthetic root is not a function
    assert sum(f.self_count for f in graph.frames) == 48_414


def test_inferno_austin_counts_recursion_once() -> None:
    graph = read_flamegraph(svg(AUSTIN))
    assert graph.total == 291
    assert len(graph.frames) == 15
    totals = graph.totals()
    # _find_and_load:1007 is drawn twice on one path (291 and 105 samples): cum stays 291.
    name = "<frozen importlib._bootstrap>:_find_and_load:1007"
    assert totals.get(name) == FunctionTotal(name, 0, 291)
    assert totals.top(2) == (
        FunctionTotal("<frozen importlib._bootstrap_external>:<module>:828", 186, 186),
        FunctionTotal("<frozen importlib._bootstrap>:_call_with_frames_removed:228", 105, 105),
    )
    stacks = dict(graph.stacks())
    assert sum(stacks.values()) == 291
    leaf_stack = next(s for s in stacks if s[0].endswith("_call_with_frames_removed:228"))
    assert leaf_stack[-3:] == (
        "<frozen importlib._bootstrap>:_install_external_importers:1187", "T6360", "P6360",
    )


def test_inferno_differential_deltas() -> None:
    graph = read_flamegraph(svg(DIFFERENTIAL))
    assert graph.total == 513
    deltas = {(f.name, f.count): f.delta_percent for f in graph.frames}
    assert deltas[("main", 415)] == pytest.approx(27.49)
    assert deltas[("cksum", 5)] == pytest.approx(-0.78)
    assert deltas[("_start", 56)] == 0.0
    assert deltas[("all", 513)] is None
    totals = graph.totals()
    assert totals.get("main") == FunctionTotal("main", 415, 56 + 35 + 415)
    assert totals.get("cksum") == FunctionTotal("cksum", 93, 96)


def test_inferno_perf_vertx() -> None:
    graph = read_flamegraph(svg(VERTX))
    assert graph.total == 286
    assert len(graph.frames) == 364
    totals = graph.totals()
    assert totals.top(2) == (
        FunctionTotal("hypercall_page", 23, 23),  # drawn 3 times: 1 + 19 + 3
        FunctionTotal("org/mozilla/javascript/ScriptableObject:.createSlot", 20, 20),
    )
    assert totals.get("start_thread") == FunctionTotal("start_thread", 0, 282)
    assert totals.get("<unknown>") is not None  # perf's empty frame name " (3 samples, ...)"
    assert sum(f.self_count for f in graph.frames) == 286


def test_icicle_layout_reads_the_same() -> None:
    # Flip every frame upside down (root on top, as `--inverted` draws it).
    flipped = re.sub(rb'(<rect [^>]*?)y="(\d+)"',
                     lambda m: m[1] + b'y="%d"' % (400 - int(m[2])), svg(AUSTIN))
    assert flipped != svg(AUSTIN)
    assert read_flamegraph(flipped).totals() == read_flamegraph(svg(AUSTIN)).totals()


def test_flamegraph_becomes_a_profile_for_the_top_report() -> None:
    profile = read_flamegraph(svg(CPU_GREP)).to_profile()
    assert decode(encode(profile)) == profile
    # Expected lines from `go tool pprof -top` on encode(profile) written to a file.
    lines = render_top(profile).splitlines()
    assert lines[:3] == [
        "Type: samples",
        "Showing nodes accounting for 48049, 99.25% of 48414 total",
        "Dropped 19 nodes (cum <= 242)",
    ]
    assert lines[4].split() == ["18695", "38.61%", "38.61%", "18695", "38.61%",
                                "libc.so.1`_UTF8_mbrtowc"]


def test_unit_word_is_configurable() -> None:
    data = svg(AUSTIN).replace(b" samples, ", b" bytes, ")
    assert read_flamegraph(data, unit="bytes").totals().sample_type == ValueType("bytes", "count")
    with pytest.raises(FlamegraphError, match="no flamegraph frames"):
        read_flamegraph(data)  # the default unit word is "samples"
    assert read_flamegraph(data, unit=None).unit == "bytes"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<svg", "not a well-formed SVG"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><g><title>x</title></g></svg>",
         "no flamegraph frames"),
        (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "entities"),
    ],
)
def test_bad_svgs_raise_readable_errors(data: bytes, words: str) -> None:
    with pytest.raises(FlamegraphError, match=words):
        read_flamegraph(data)
