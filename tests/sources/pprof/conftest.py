"""Paths and loaders for the pprof tests (real fixtures copied into tests/fixtures/real)."""

from __future__ import annotations

from pathlib import Path

from bot.sources.pprof import Profile, decode

ROOT = Path(__file__).resolve().parents[3]
PPROF_DIR = ROOT / "tests" / "fixtures" / "real" / "pprof"
FLAMEGRAPH_DIR = ROOT / "tests" / "fixtures" / "real" / "flamegraph"
GO_REFERENCE_DIR = Path(__file__).resolve().parent / "go_reference"

SAMPLE_CPU = "google-pprof_sample.cpu.pb.gz"
FIB_CPU = "parca_fib.cpu.pb.gz"
HEAP_T1 = "parca_heap_t1_1644509272337470000.pb.gz"
HEAP_T2 = "parca_heap_t2_1644509299337903000.pb.gz"
ALL_PPROF = (SAMPLE_CPU, FIB_CPU, HEAP_T1, HEAP_T2)


def pprof_bytes(name: str) -> bytes:
    """The bytes of a real pprof fixture."""
    return (PPROF_DIR / name).read_bytes()


def load(name: str) -> Profile:
    """A real pprof fixture, decoded."""
    return decode(pprof_bytes(name))
