"""pprof profiles: fetch, decode, rank, diff, print like ``go tool pprof``, read flamegraphs.

Modules:

- ``model``: the typed :class:`Profile` (sample types, leaf-first stacks of function names).
- ``decode`` / ``encode``: profile.proto bytes (gzipped or not) to and from :class:`Profile`.
- ``scan``: the decoder's limits, counted on the wire format while it inflates.
- ``frames_rx``: the profile's own drop/keep regexps, on RE2 (linear time).
- ``workers``: :class:`BoundedProcessPool`, where decoding runs: memory and time bounds,
  killed and replaced past them, gone with the bot.
- ``analysis``: top functions by flat and cumulative value, and the diff of two profiles.
- ``format``: ``go tool pprof -top`` text, identical on the same file; the diff as text.
- ``units``: pprof's unit scaling and percentages (``1.28s``, ``47781.96kB``, ``0.034%``).
- ``flamegraph``: an inferno or flamegraph.pl SVG back into stacks and the same totals.
- ``client``: :class:`PprofClient`, CPU and heap profiles over HTTP from catalog services.
- ``synth``: large synthetic profiles for load tests, the benchmark and the demo.
- ``wire``: typed Protocols over the generated ``profile_pb2`` module.

``profile.proto`` is the wire schema of google/pprof's ``proto/profile.proto`` (Apache-2.0; see
its header). ``profile_pb2.py`` is generated from it and not edited by hand; it is excluded
from mypy and ruff, and ``wire.py`` gives the rest of the package a typed view of it. The
generated code must not be newer than the protobuf runtime (6.33 here): grpcio-tools 1.81.1
bundles protoc 33.5, whose code asks for runtime >= 6.33.5. To regenerate, from the repository
root, in a throwaway virtualenv (not the project's)::

    python3 -m venv /tmp/protoc-venv
    /tmp/protoc-venv/bin/pip install grpcio-tools==1.81.1 protobuf==6.33.6
    /tmp/protoc-venv/bin/python -m grpc_tools.protoc -I . --python_out=. \\
        bot/sources/pprof/profile.proto
"""

from __future__ import annotations

from bot.sources.pprof.analysis import (
    FrameTotals,
    FunctionDelta,
    FunctionTotal,
    ProfileDiff,
    StackDelta,
    diff_profiles,
    frame_totals,
    totals_from_stacks,
)
from bot.sources.pprof.client import PprofClient, RawProfile, profile_executor
from bot.sources.pprof.decode import ProfileDecodeError, decode
from bot.sources.pprof.encode import encode
from bot.sources.pprof.flamegraph import Flamegraph, FlamegraphError, read_flamegraph
from bot.sources.pprof.format import TopOptions, TopReport, render_diff, render_top, top_report
from bot.sources.pprof.model import Profile, Sample, ValueType
from bot.sources.pprof.workers import BoundedProcessPool, WorkerError, WorkerLimits

__all__ = [
    "BoundedProcessPool",
    "Flamegraph",
    "FlamegraphError",
    "FrameTotals",
    "FunctionDelta",
    "FunctionTotal",
    "PprofClient",
    "Profile",
    "ProfileDecodeError",
    "ProfileDiff",
    "RawProfile",
    "Sample",
    "StackDelta",
    "TopOptions",
    "TopReport",
    "ValueType",
    "WorkerError",
    "WorkerLimits",
    "decode",
    "diff_profiles",
    "encode",
    "frame_totals",
    "profile_executor",
    "read_flamegraph",
    "render_diff",
    "render_top",
    "top_report",
    "totals_from_stacks",
]
