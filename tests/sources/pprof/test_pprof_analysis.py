"""Top functions and diffs. Expected values were read from `go tool pprof -top` on each file
(see go_reference/README.md) and, for the diff, from `go tool pprof -top -nodefraction=0
-edgefraction=0 -diff_base=<t1> <t2>`; the exact byte counts are those values in bytes."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.sources.pprof import (
    FunctionTotal,
    Profile,
    Sample,
    ValueType,
    diff_profiles,
    frame_totals,
    totals_from_stacks,
)
from tests.sources.pprof.conftest import FIB_CPU, HEAP_T1, HEAP_T2, SAMPLE_CPU, load

MS = 1_000_000
CPU = (ValueType("samples", "count"), ValueType("cpu", "nanoseconds"))


def test_sample_cpu_top_matches_go() -> None:
    totals = frame_totals(load(SAMPLE_CPU))
    assert totals.sample_type == ValueType("cpu", "nanoseconds")
    assert totals.total == 1760 * MS  # "of 1.76s total"
    # go tool pprof -top google-pprof_sample.cpu.pb.gz, first rows (flat, cum):
    assert totals.top(4) == (
        FunctionTotal("runtime.mapiternext", 1280 * MS, 1370 * MS),
        FunctionTotal("main.busyLoop", 150 * MS, 1760 * MS),
        FunctionTotal("math.Abs", 110 * MS, 110 * MS),
        FunctionTotal("runtime.evacuate", 60 * MS, 70 * MS),
    )
    assert len(totals.functions) == 14  # "Showing top 5 nodes out of 14"
    # Zero-flat ties are ordered by name, as pprof does.
    assert [f.name for f in totals.functions[-4:]] == [
        "main.main", "runtime.growWork", "runtime.main", "runtime.typedmemmove",
    ]


def test_fib_flat_and_cum_orders_match_go() -> None:
    totals = frame_totals(load(FIB_CPU))
    assert totals.total == 29_740 * MS  # "of 29.74s total"
    assert totals.top(2) == (
        FunctionTotal("math/big.addVV", 28_610 * MS, 28_610 * MS),
        FunctionTotal("runtime.memclrNoHeapPointers", 310 * MS, 310 * MS),
    )
    # go tool pprof -top -cum parca_fib.cpu.pb.gz:
    assert [(f.name, f.cum) for f in totals.top(4, by="cum")] == [
        ("main.calculateFib", 29_500 * MS),
        ("github.com/polarsignals/pprof-example-app-go/fib.Fibonacci", 29_200 * MS),
        ("math/big.(*Int).Add", 29_190 * MS),
        ("math/big.nat.add", 29_130 * MS),
    ]
    samples = frame_totals(load(FIB_CPU), "samples")
    assert samples.total == 2974  # -sample_index=samples: "of 2974 total"
    assert samples.get("math/big.addMulVVW") == FunctionTotal("math/big.addMulVVW", 14, 14)


def test_heap_defaults_to_inuse_space_like_go() -> None:
    t1 = frame_totals(load(HEAP_T1))
    assert t1.sample_type == ValueType("inuse_space", "bytes")
    assert t1.total == 48_928_729  # "47781.96kB total"
    assert t1.top(1) == (FunctionTotal("github.com/dgraph-io/sroar.init", 33_554_432, 33_554_432),)
    assert t1.top(1, by="cum")[0] == FunctionTotal("runtime.doInit", 0, 44_720_366)
    # -sample_index=inuse_objects: "73761, 100% of 73788 total", errors.New 32768 first.
    objects = frame_totals(load(HEAP_T1), "inuse_objects")
    assert objects.total == 73_788
    assert objects.top(1) == (FunctionTotal("errors.New", 32_768, 32_768),)
    t2 = frame_totals(load(HEAP_T2))
    assert t2.total == 143_698_391  # "137.04MB total"
    assert t2.top(1)[0].name == "github.com/dgraph-io/badger/v3/skl.newArena"
    assert t2.top(1)[0].flat == 87_244_800  # "83.20MB"


def test_recursion_counts_once_per_sample() -> None:
    profile = Profile(CPU, (
        Sample(("fib", "fib", "fib", "main"), (1, 10)),
        Sample(("work", "fib", "main"), (2, 20)),
        Sample(("idle",), (0, 0)),  # zero samples are skipped, as pprof does
    ))
    totals = frame_totals(profile, "cpu")
    assert totals.get("fib") == FunctionTotal("fib", 10, 30)
    assert totals.get("main") == FunctionTotal("main", 0, 30)
    assert totals.get("idle") is None
    assert totals.total == 30


def test_grouped_and_per_sample_paths_agree() -> None:
    # Samples sharing a value take the grouped (Counter) path; distinct values do not.
    cpu = ValueType("cpu", "nanoseconds")
    shared = totals_from_stacks([(("leaf", "mid", f"root{i % 3}"), 5) for i in range(50)], cpu)
    assert shared.get("leaf") == FunctionTotal("leaf", 250, 250)
    assert shared.get("root1") == FunctionTotal("root1", 0, 85)
    distinct = totals_from_stacks(
        [(("leaf", "mid", f"root{i % 3}"), 5 + i) for i in range(50)], cpu
    )
    assert distinct.get("leaf") == FunctionTotal("leaf", 1475, 1475)
    assert distinct.get("root1") == FunctionTotal("root1", 0, 510)
    assert distinct.total == 1475


def test_heap_diff_t1_to_t2_finds_what_grew() -> None:
    diff = diff_profiles(load(HEAP_T1), load(HEAP_T2))
    assert diff.sample_type == ValueType("inuse_space", "bytes")
    assert (diff.base_total, diff.new_total) == (48_928_729, 143_698_391)
    grown = diff.grown_functions(6)
    # go -diff_base flat column: 85200kB, 1301.24kB, 1184.27kB, 1098.02kB, 1025.27kB, 650.62kB.
    assert [(f.name, f.flat_delta) for f in grown] == [
        ("github.com/dgraph-io/badger/v3/skl.newArena", 87_244_800),
        ("github.com/dgraph-io/ristretto.newCmRow", 1_332_474),
        ("github.com/dgraph-io/ristretto/z.(*Bloom).Size", 1_212_696),
        ("google.golang.org/protobuf/internal/strs.(*Builder).AppendFullName", 1_124_371),
        ("github.com/aws/aws-sdk-go/aws/endpoints.init", 1_049_872),
        ("github.com/dgraph-io/ristretto.NewCache", 666_237),
    ]
    assert grown[5].cum_delta == 3_211_407  # go: cum 3136.14kB
    badger_open = next(f for f in diff.functions
                       if f.name == "github.com/dgraph-io/badger/v3.Open")
    assert badger_open.cum_delta == 90_456_207  # go: 88336.14kB
    shrunk = next(f for f in diff.functions
                  if f.name == "regexp/syntax.(*parser).newRegexp")
    assert shrunk.flat_delta == -524_344  # go: -512.05kB
    top_stack = diff.grown_stacks(1)[0]
    assert top_stack.stack[:3] == (
        "github.com/dgraph-io/badger/v3/skl.newArena",
        "github.com/dgraph-io/badger/v3/skl.NewSkiplist",
        "github.com/dgraph-io/badger/v3.(*DB).openMemTable",
    )
    assert (top_stack.base, top_stack.new, top_stack.delta) == (0, 87_244_800, 87_244_800)


def test_diff_needs_the_same_sample_type() -> None:
    with pytest.raises(InputError, match="unknown sample type 'inuse_space'"):
        diff_profiles(load(SAMPLE_CPU), load(HEAP_T2))
    other_unit = Profile((ValueType("cpu", "seconds"),), ())
    with pytest.raises(InputError, match="cannot compare cpu in nanoseconds with seconds"):
        diff_profiles(other_unit, load(SAMPLE_CPU), "cpu")
    same = diff_profiles(load(FIB_CPU), load(FIB_CPU), "samples")
    assert same.grown_functions() == () and same.stacks == ()
