"""``triage-bot pprof top|diff``: read profile files the way ``go tool pprof`` does.

For responders holding a profile from elsewhere, and to check our decoder against the
reference tool: ``pprof top FILE`` prints exactly what ``go tool pprof -top FILE`` prints
(same header, totals, units, order and "Dropped" lines; ``-n`` is pprof's ``-nodecount``), and
``pprof diff BASE NEW`` prints the functions and stacks that grew most. ``top`` also reads a
flamegraph SVG (inferno or flamegraph.pl) and ranks its frames the same way.

Files are read here and decoded in a bounded worker process (the bot's
:func:`~bot.sources.pprof.client.profile_executor`: 1 GiB of address space, 60 s), so a hostile
file gets a plain "profile too large" or "took longer than 60 s to decode" instead of taking
the machine's memory or hanging the terminal.

Errors (missing file, not a profile, unknown sample type) are one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import atexit
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from bot.errors import InputError
from bot.sources.pprof.analysis import ProfileDiff, diff_profiles
from bot.sources.pprof.client import MAX_PROFILE_BYTES, bounded_failure, profile_executor
from bot.sources.pprof.decode import decode
from bot.sources.pprof.flamegraph import read_flamegraph
from bot.sources.pprof.format import TopOptions, render_diff, render_top
from bot.sources.pprof.model import Profile
from bot.sources.pprof.workers import BoundedProcessPool, WorkerError

_PROG = "triage-bot pprof"
_T = TypeVar("_T")


def add_pprof_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pprof`` with its ``top`` and ``diff`` subcommands to the bot's CLI."""
    pprof = subparsers.add_parser(
        "pprof", help="read pprof profiles: top functions, growth between two profiles",
        description="Read pprof profiles (profile.proto, gzipped or not) like go tool pprof.",
    )
    commands = pprof.add_subparsers(dest="pprof_command", metavar="{top,diff}", required=True)
    top = commands.add_parser(
        "top", help="top functions, as go tool pprof -top prints them",
        description="Print the top functions of a profile exactly as `go tool pprof -top` does.",
    )
    top.add_argument("file", type=Path, help="a profile (or a flamegraph SVG)")
    top.add_argument("-n", "--nodecount", type=int, default=0, metavar="N",
                     help="show at most N functions (default: all above the node fraction)")
    top.add_argument("--sample-index", metavar="NAME",
                     help="sample type by name or index (default: the profile's default, "
                          "else the last one)")
    top.add_argument("--cum", action="store_true", help="sort by cumulative value")
    top.add_argument("--node-fraction", type=float, default=0.005, metavar="F",
                     help="hide functions whose cum is below F of the total (default 0.005)")
    top.add_argument("--edge-fraction", type=float, default=0.001, metavar="F",
                     help="ignore call edges below F of the total for (inline) marks "
                          "(default 0.001)")
    top.set_defaults(func=run_top)
    diff = commands.add_parser(
        "diff", help="functions and stacks that grew from BASE to NEW",
        description="Print the functions and the stacks that grew most from BASE to NEW "
                    "(two heap profiles: inuse_space by default).",
    )
    diff.add_argument("base", type=Path, help="the earlier profile")
    diff.add_argument("new", type=Path, help="the later profile")
    diff.add_argument("-n", type=int, default=10, metavar="N",
                      help="how many functions and stacks to show (default 10)")
    diff.add_argument("--sample-index", metavar="NAME", help="sample type by name or index")
    diff.set_defaults(func=run_diff)


def run_top(args: argparse.Namespace) -> int:
    """``pprof top``: print the report, or one error line and return 2."""
    options = TopOptions(
        sample=args.sample_index, node_count=args.nodecount, cum=args.cum,
        node_fraction=args.node_fraction, edge_fraction=args.edge_fraction,
    )
    try:
        text = _in_worker(args.file, top_text, str(args.file), _read(args.file), options)
    except InputError as exc:
        return _fail(str(exc))
    sys.stdout.write(text)
    return 0


def run_diff(args: argparse.Namespace) -> int:
    """``pprof diff``: print what grew, or one error line and return 2."""
    try:
        diff = _in_worker(args.new, diff_files, str(args.base), _read(args.base),
                          str(args.new), _read(args.new), args.sample_index)
    except InputError as exc:
        return _fail(str(exc))
    sys.stdout.write(render_diff(diff, n=max(args.n, 1)))
    return 0


def top_text(name: str, data: bytes, options: TopOptions) -> str:
    """Decode (or read the flamegraph) and render ``-top``: what runs in the worker."""
    return render_top(_profile(name, data, allow_svg=True), options)


def diff_files(base_name: str, base: bytes, new_name: str, new: bytes,
               sample: str | None) -> ProfileDiff:
    """Decode two profiles and diff them: what runs in the worker."""
    return diff_profiles(_profile(base_name, base), _profile(new_name, new), sample)


@cache
def _pool() -> BoundedProcessPool:
    pool = profile_executor(1)
    atexit.register(pool.shutdown, wait=True, cancel_futures=True)
    return pool


def _in_worker(path: Path, fn: Callable[..., _T], *args: object) -> _T:
    try:
        return _pool().submit(fn, *args).result()
    except WorkerError as exc:
        raise InputError(f"{path}: {bounded_failure('the profile', exc)}") from None


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_PROFILE_BYTES} bytes; not reading it")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _profile(name: str, data: bytes, *, allow_svg: bool = False) -> Profile:
    try:
        if allow_svg and data.lstrip()[:1] == b"<":
            return read_flamegraph(data, unit=None).to_profile()
        return decode(data)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def _fail(message: str) -> int:
    sys.stderr.write(f"{_PROG}: {message}\n")
    return 2
