"""`render_top` prints what `go tool pprof -top` prints, byte for byte.

The expected texts in go_reference/ are `go tool pprof -top` outputs on the same files (Go
1.19.8; commands in go_reference/README.md). go is not needed to run these tests.
"""

from __future__ import annotations

import pytest

from bot.sources.pprof import (
    Profile,
    Sample,
    TopOptions,
    ValueType,
    decode,
    diff_profiles,
    encode,
    render_diff,
    render_top,
    top_report,
)
from bot.sources.pprof.units import auto_label, percentage, scaled_label
from tests.sources.pprof.conftest import (
    FIB_CPU,
    GO_REFERENCE_DIR,
    HEAP_T1,
    HEAP_T2,
    SAMPLE_CPU,
    load,
)

CASES = [
    ("sample-cpu.default", SAMPLE_CPU, TopOptions()),
    ("sample-cpu.cum", SAMPLE_CPU, TopOptions(cum=True)),
    ("sample-cpu.samples", SAMPLE_CPU, TopOptions(sample="samples")),
    ("sample-cpu.nodecount5", SAMPLE_CPU, TopOptions(node_count=5)),
    ("fib.default", FIB_CPU, TopOptions()),
    ("fib.cum", FIB_CPU, TopOptions(cum=True)),
    ("fib.samples", FIB_CPU, TopOptions(sample="samples")),
    ("fib.nodecount10", FIB_CPU, TopOptions(node_count=10)),
    ("fib.nofraction", FIB_CPU, TopOptions(node_fraction=0, edge_fraction=0)),
    ("heap-t1.default", HEAP_T1, TopOptions()),
    ("heap-t1.alloc_space", HEAP_T1, TopOptions(sample="alloc_space")),
    ("heap-t1.inuse_objects", HEAP_T1, TopOptions(sample="inuse_objects")),
    ("heap-t1.cum", HEAP_T1, TopOptions(cum=True)),
    ("heap-t2.default", HEAP_T2, TopOptions()),
    ("heap-t2.alloc_objects.nodecount12", HEAP_T2,
     TopOptions(sample="alloc_objects", node_count=12)),
    ("heap-t2.alloc_space.cum", HEAP_T2, TopOptions(sample="alloc_space", cum=True)),
    ("heap-t2.nofraction", HEAP_T2, TopOptions(node_fraction=0, edge_fraction=0)),
]


@pytest.mark.parametrize(("reference", "fixture", "options"), CASES, ids=[c[0] for c in CASES])
def test_render_top_equals_go_tool_pprof(reference: str, fixture: str,
                                         options: TopOptions) -> None:
    expected = (GO_REFERENCE_DIR / f"{reference}.txt").read_text(encoding="utf-8")
    assert render_top(load(fixture), options) == expected


def test_headline_values_from_go() -> None:
    # From `go tool pprof -top parca_fib.cpu.pb.gz`.
    report = top_report(load(FIB_CPU))
    assert report.labels == (
        "File: pprof-example-app-go",
        "Type: cpu",
        "Time: Jul 16, 2021 at 1:10pm (UTC)",
        "Duration: 30.16s, Total samples = 29.74s (98.62%)",
        "Showing nodes accounting for 29.09s, 97.81% of 29.74s total",
        "Dropped 99 nodes (cum <= 0.15s)",
    )
    assert [(r.name, report.format_value(r.flat), report.format_value(r.cum))
            for r in report.rows[:3]] == [
        ("math/big.addVV", "28.61s", "28.61s"),
        ("runtime.memclrNoHeapPointers", "0.31s", "0.31s"),
        ("math/big.nat.add", "0.07s", "29.13s"),
    ]
    # From `go tool pprof -top parca_heap_t2_...pb.gz`: the inline mark and the MB unit.
    heap = top_report(load(HEAP_T2))
    assert heap.rows[0].name == "github.com/dgraph-io/badger/v3/skl.newArena"
    assert heap.rows[0].inline == "(inline)"
    assert heap.labels[-2:] == (
        "Showing nodes accounting for 132.49MB, 96.68% of 137.04MB total",
        "Dropped 38 nodes (cum <= 0.69MB)",
    )


def test_header_lines_and_partial_inline_match_go() -> None:
    # f is inlined into g but called from h; k likewise. `go tool pprof -top` on
    # encode(profile) printed exactly the text below.
    cpu = (ValueType("samples", "count"), ValueType("cpu", "nanoseconds"))
    profile = Profile(cpu, (
        Sample(("f", "g", "main"), (3, 30_000_000), (True, False, False)),
        Sample(("f", "h", "main"), (2, 20_000_000)),
        Sample(("k", "f", "g", "main"), (1, 10_000_000), (False, True, False, False)),
        Sample(("k", "m", "main"), (4, 40_000_000), (True, False, False)),
        Sample(("r", "r", "r", "main"), (5, 50_000_000), (True, True, False, False)),
    ), period=10_000_000, period_type=ValueType("cpu", "nanoseconds"),
        duration_nanos=1_000_000_000, time_nanos=1_600_000_000_000_000_000,
        main_binary="/bin/app", build_id="abc123", comments=("hello", "#hidden"))
    assert render_top(decode(encode(profile))) == (
        "File: app\n"
        "Build ID: abc123\n"
        "hello\n"
        "Type: cpu\n"
        "Time: Sep 13, 2020 at 12:26pm (UTC)\n"
        "Duration: 1s, Total samples = 150ms (15.00%)\n"
        "Showing nodes accounting for 150ms, 100% of 150ms total\n"
        "      flat  flat%   sum%        cum   cum%\n"
        "      50ms 33.33% 33.33%       60ms 40.00%  f (partial-inline)\n"
        "      50ms 33.33% 66.67%       50ms 33.33%  k (partial-inline)\n"
        "      50ms 33.33%   100%       50ms 33.33%  r\n"
        "         0     0%   100%       40ms 26.67%  g\n"
        "         0     0%   100%       20ms 13.33%  h\n"
        "         0     0%   100%       40ms 26.67%  m\n"
        "         0     0%   100%      150ms   100%  main\n"
    )


def test_units_follow_pprof_rules() -> None:
    assert scaled_label(1_280_000_000, "nanoseconds", "s") == "1.28s"
    assert scaled_label(150_000_000, "nanoseconds", "ms") == "150ms"
    assert scaled_label(33_554_432, "bytes", "kB") == "32768kB"
    assert auto_label(87_244_800, "bytes") == "83.20MB"
    assert auto_label(2_002_012_950, "nanoseconds") == "2s"
    assert auto_label(7_200_000_000_000, "nanoseconds") == "2hrs"
    assert auto_label(0, "bytes") == "0"
    assert auto_label(2974, "count") == "2974"
    assert auto_label(-524_344, "bytes") == "-512.05kB"
    assert scaled_label(5, "microseconds", "auto") == "5us"
    assert percentage(1_280, 1_760) == "72.73%"
    assert percentage(1_760, 1_760) == "  100%"
    assert percentage(10, 29_740) == "0.034%"
    assert percentage(0, 100) == "    0%"
    assert percentage(5, 0) == "    0%"


def test_empty_profile_still_renders_a_header() -> None:
    text = render_top(Profile((ValueType("samples", "count"),), ()))
    assert text == (
        "Type: samples\n"
        "Showing nodes accounting for 0, 0% of 0 total\n"
        "      flat  flat%   sum%        cum   cum%\n"
    )


def test_render_diff_lists_growth_first() -> None:
    text = render_diff(diff_profiles(load(HEAP_T1), load(HEAP_T2)), n=3)
    lines = text.splitlines()
    assert lines[0] == "Type: inuse_space"
    assert lines[1] == "Total: 46.66MB -> 137.04MB (+90.38MB)"
    assert lines[5].split() == ["+83.20MB", "+83.20MB", "83.20MB", "83.20MB",
                                "github.com/dgraph-io/badger/v3/skl.newArena"]
    assert lines[6].endswith("github.com/dgraph-io/ristretto.newCmRow")
    stacks = lines[lines.index("Stacks that grew most (leaf first):") + 1:]
    assert stacks[0].split() == ["+83.20MB", "github.com/dgraph-io/badger/v3/skl.newArena"]
    assert stacks[1].strip() == "<- github.com/dgraph-io/badger/v3/skl.NewSkiplist"
    assert "... 1 more frame" in text
