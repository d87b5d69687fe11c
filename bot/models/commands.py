"""The ``/triage`` command language, parsed into typed commands.

Pure functions: the caller passes a predicate that says whether a word names an incident or a
service, so optional references (``note [ref] <text>``) are decided the same way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.errors import InputError
from bot.models.incident import Severity, parse_incident_ref
from bot.models.silence import parse_silence_duration

USAGE = {
    "help": "help — this message",
    "start": "start <service> [summary…] — declare an incident (no arguments: open a form)",
    "status": "status [ref] — the incident's state and timeline",
    "list": "list — open incidents",
    "note": "note [ref] <text> — add a note to the timeline",
    "assign": "assign [ref] @user — make someone the incident's owner",
    "resolve": "resolve [ref] [note…] — close the incident",
    "reopen": "reopen INC-12 [note…] — open a resolved incident again (admins)",
    "services": "services — the services the bot knows",
    "metrics": "metrics|logs|traces|profile [ref] — run one step of the walk",
    "rca": "rca [export] [ref] — edit the RCA draft (export: post it as Markdown)",
    "channel": "channel [ref] — open the incident's own channel (#inc-<n>-<service>)",
    "update": "update [ref] <text> — a status update in the thread and the status channel",
    "silence": "silence [ref] <duration> [comment…] — silence the incident's alerts in "
               "Alertmanager (30m, 1h, 4h, up to 7d)",
}
REF_HELP = (
    "`ref` is an incident id like INC-12 or a service name; leave it out in a service's "
    "channel to mean its one open incident."
)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_SEVERITY_FLAG = re.compile(r"^--severity=(\w+)$")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Help:
    """``help`` (or nothing at all)."""


@dataclass(frozen=True)
class Services:
    """``services``."""


@dataclass(frozen=True)
class ListOpen:
    """``list``."""


@dataclass(frozen=True)
class Start:
    """``start <service> [summary…]``; ``service`` None means: open the form."""

    service: str | None
    summary: str = ""
    severity: Severity | None = None


@dataclass(frozen=True)
class Status:
    """``status [ref]``."""

    ref: str | None


@dataclass(frozen=True)
class Note:
    """``note [ref] <text>``."""

    ref: str | None
    text: str


@dataclass(frozen=True)
class Assign:
    """``assign [ref] @user``."""

    ref: str | None
    user_id: str


@dataclass(frozen=True)
class Resolve:
    """``resolve [ref] [note…]``."""

    ref: str | None
    note: str


@dataclass(frozen=True)
class Reopen:
    """``reopen INC-12 [note…]``: the id is required (a resolved incident is no channel's)."""

    ref: str
    note: str


@dataclass(frozen=True)
class RunStep:
    """``metrics|logs|traces|profile [ref]``."""

    step: str
    ref: str | None


@dataclass(frozen=True)
class RcaCommand:
    """``rca [export] [ref]``."""

    ref: str | None
    export: bool = False


@dataclass(frozen=True)
class Silence:
    """``silence [ref] <duration> [comment…]``: the alert group's labels, muted."""

    ref: str | None
    duration: timedelta
    comment: str


@dataclass(frozen=True)
class StatusUpdate:
    """``update [ref] <text>``: a status for stakeholders."""

    ref: str | None
    text: str


@dataclass(frozen=True)
class OpenChannel:
    """``channel [ref]``: the incident's own channel."""

    ref: str | None


Command = (Help | Services | ListOpen | Start | Status | Note | Assign | Resolve | RunStep
           | RcaCommand | Reopen | Silence | StatusUpdate | OpenChannel)
STEP_VERBS = ("metrics", "logs", "traces", "profile")


def usage(verb: str | None = None) -> str:
    """Usage of one verb, or of all of them."""
    verbs = [verb] if verb in USAGE else list(USAGE)
    lines = [f"`/triage {USAGE[v]}`" for v in verbs]
    return "\n".join([*lines, REF_HELP])


def parse_command(text: str, is_ref: Callable[[str], bool]) -> Command:
    """Parse the text after ``/triage``; raises InputError with usage on bad input."""
    words = text.split()
    if not words:
        return Help()
    verb, args = words[0].lower(), words[1:]
    if len(text) > MAX_TEXT:
        raise InputError(f"That is too long ({len(text)} characters; at most {MAX_TEXT}).")
    parser = _PARSERS.get(verb)
    if parser is None:
        raise InputError(f"Unknown command `{words[0]}`.\n{usage()}")
    return parser(args, is_ref)


def _no_args(command: Command, verb: str) -> Callable[[list[str], Callable[[str], bool]], Command]:
    def parse(args: list[str], _: Callable[[str], bool]) -> Command:
        if args:
            raise InputError(f"`{verb}` takes no arguments.\n{usage(verb)}")
        return command
    return parse


def _start(args: list[str], _: Callable[[str], bool]) -> Command:
    if not args:
        return Start(service=None)
    severity = None
    rest = []
    for word in args[1:]:
        flag = _SEVERITY_FLAG.match(word)
        if flag:
            severity = Severity.parse(flag.group(1))
        else:
            rest.append(word)
    return Start(service=args[0], summary=" ".join(rest), severity=severity)


def _status(args: list[str], _: Callable[[str], bool]) -> Command:
    if len(args) > 1:
        raise InputError(f"`status` takes at most one reference.\n{usage('status')}")
    return Status(ref=args[0] if args else None)


def _split_ref(args: list[str], is_ref: Callable[[str], bool]) -> tuple[str | None, list[str]]:
    if args and is_ref(args[0]):
        return args[0], args[1:]
    return None, args


def _note(args: list[str], is_ref: Callable[[str], bool]) -> Command:
    ref, rest = _split_ref(args, is_ref)
    if not rest:
        raise InputError(f"`note` needs the text of the note.\n{usage('note')}")
    return Note(ref=ref, text=" ".join(rest))


def _assign(args: list[str], is_ref: Callable[[str], bool]) -> Command:
    ref, rest = _split_ref(args, is_ref)
    mention = _MENTION.match(rest[0]) if len(rest) == 1 else None
    if mention is None:
        raise InputError(
            "`assign` needs exactly one @mention of the new owner (pick them from Slack's "
            f"autocomplete so Slack sends their id).\n{usage('assign')}"
        )
    return Assign(ref=ref, user_id=mention.group(1))


def _resolve(args: list[str], is_ref: Callable[[str], bool]) -> Command:
    ref, rest = _split_ref(args, is_ref)
    return Resolve(ref=ref, note=" ".join(rest))


def _reopen(args: list[str], _: Callable[[str], bool]) -> Command:
    if not args or parse_incident_ref(args[0]) is None:
        raise InputError(f"`reopen` needs the incident's id.\n{usage('reopen')}")
    return Reopen(ref=args[0], note=" ".join(args[1:]))


def _step(verb: str) -> Callable[[list[str], Callable[[str], bool]], Command]:
    def parse(args: list[str], _: Callable[[str], bool]) -> Command:
        if len(args) > 1:
            raise InputError(f"`{verb}` takes at most one reference.\n{usage('metrics')}")
        return RunStep(step=verb, ref=args[0] if args else None)
    return parse


def _rca(args: list[str], _: Callable[[str], bool]) -> Command:
    export = bool(args) and args[0].lower() == "export"
    rest = args[1:] if export else args
    if len(rest) > 1:
        raise InputError(f"`rca` takes at most one reference.\n{usage('rca')}")
    return RcaCommand(ref=rest[0] if rest else None, export=export)


def _silence(args: list[str], is_ref: Callable[[str], bool]) -> Command:
    ref, rest = _split_ref(args, is_ref)
    if not rest:
        raise InputError(f"`silence` needs a duration.\n{usage('silence')}")
    try:
        duration = parse_silence_duration(rest[0])
    except InputError as exc:
        raise InputError(f"{exc}\n{usage('silence')}") from None
    return Silence(ref=ref, duration=duration, comment=" ".join(rest[1:]))


def _update(args: list[str], is_ref: Callable[[str], bool]) -> Command:
    ref, rest = _split_ref(args, is_ref)
    if not rest:
        raise InputError(f"`update` needs the text of the status.\n{usage('update')}")
    return StatusUpdate(ref=ref, text=" ".join(rest))


def _channel(args: list[str], _: Callable[[str], bool]) -> Command:
    if len(args) > 1:
        raise InputError(f"`channel` takes at most one reference.\n{usage('channel')}")
    return OpenChannel(ref=args[0] if args else None)


_PARSERS: dict[str, Callable[[list[str], Callable[[str], bool]], Command]] = {
    "channel": _channel,
    "silence": _silence,
    "update": _update,
    "rca": _rca,
    **{verb: _step(verb) for verb in STEP_VERBS},
    "help": _no_args(Help(), "help"),
    "services": _no_args(Services(), "services"),
    "list": _no_args(ListOpen(), "list"),
    "start": _start,
    "declare": _start,
    "status": _status,
    "note": _note,
    "assign": _assign,
    "resolve": _resolve,
    "reopen": _reopen,
}
