"""The command line: parses arguments and hands over to one module per subcommand.

Subcommand modules are imported lazily so ``cockpit check`` never pays for the
TUI, and the TUI is only imported by the commands that open it.

Global options (``--profile``, ``--read-only``) mean the same before and after
the subcommand: each subcommand parser carries them too, under its own name
(``sub_*``), so argparse's copying of a subparser's namespace can never
overwrite the value given before the subcommand; `_merge_globals` then joins
the two, refuses two different values, and refuses a global option that does
not apply to the command (`NOT_APPLICABLE`) with the same message wherever it
was written. Abbreviated options are refused (``--over`` is not ``--override``),
and an option given twice with different values is refused.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from cockpit import __version__
from cockpit.exitcodes import Exit

GLOBAL_OPTIONS = {"profile": "--profile", "read_only": "--read-only"}

# (command, global option) -> why it is refused; every other pair is accepted.
# `check`, `status` and `report` never fire a step nor write state: --read-only holds for them as it is.
NOT_APPLICABLE: dict[tuple[str | None, str], str] = {
    ("demo", "profile"): "cockpit demo runs its own bundled demo profile; --profile does not apply",
    ("profile", "profile"): "cockpit profile init writes a new profile at PATH; --profile does not apply",
    ("profile", "read_only"): "cockpit profile init writes a file, so it cannot be --read-only",
    ("abandon", "read_only"): "cockpit abandon writes the journal, so it cannot be --read-only",
    ("serve", "read_only"): "cockpit serve is always read-only: --read-only does not apply",
    ("approve", "read_only"): "cockpit approve answers the driver's request (it writes), so it cannot be --read-only",
    ("setup-bastion", "profile"): "cockpit setup-bastion sets up the machine, not a profile; --profile does not apply",
    ("setup-bastion", "read_only"): "cockpit setup-bastion creates directories, so it cannot be --read-only",
}


class _Once(argparse.Action):
    """Store a value; the same option given again with another value is refused (not "last one wins")."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        given: set[str] = namespace.__dict__.setdefault("_given", set())   # dropped by parse_args
        current = getattr(namespace, self.dest, None)
        if self.dest in given and current != values:
            parser.error(f"{option_string} given twice ({current!r} and {values!r}): give it once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """No abbreviations: an option is understood only as written in full."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


class _Misplaced(argparse.Action):
    """A subcommand's own option written before the subcommand: refused, saying where it belongs."""

    def __init__(self, *args: Any, owners: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = owners

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        parser.error(f"{option_string} is an option of {self.owners}: write it after the subcommand")


def _misplaced_options(p: argparse.ArgumentParser, subparsers: dict[str, argparse.ArgumentParser]) -> None:
    """Every subcommand's own option, known to the main parser only to refuse it with a clear message."""
    owners: dict[str, tuple[list[str], int | str | None]] = {}

    def walk(name: str, sp: argparse.ArgumentParser) -> None:
        for action in sp._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(f"{name} {sub_name}", sub)
            for option in action.option_strings:
                if option in ("-h", "--help") or action.dest.startswith("sub_"):
                    continue
                names, _ = owners.setdefault(option, ([], action.nargs))
                names.append(f"`cockpit {name}`")

    for name, sp in subparsers.items():
        walk(name, sp)
    for option, (names, nargs) in owners.items():
        p.add_argument(option, action=_Misplaced, nargs=nargs, dest=argparse.SUPPRESS,
                       default=argparse.SUPPRESS, help=argparse.SUPPRESS, owners=" and ".join(names))


def _add_globals(p: argparse.ArgumentParser, command: str | None) -> None:
    """``--profile`` and ``--read-only`` on the main parser (command None) or on a subcommand's.

    Defaults are SUPPRESS so "not given" stays distinguishable from a value.
    """
    prefix = "" if command is None else "sub_"
    hide = argparse.SUPPRESS
    p.add_argument(
        "--profile", dest=f"{prefix}profile", action=_Once, default=argparse.SUPPRESS, metavar="NAME|PATH",
        help=hide if (command, "profile") in NOT_APPLICABLE else "profile file, or a bundled profile's name",
    )
    p.add_argument(
        "--read-only", dest=f"{prefix}read_only", action="store_true", default=argparse.SUPPRESS,
        help=hide if (command, "read_only") in NOT_APPLICABLE else "observer mode: nothing can be fired",
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cockpit",
        description=(
            "A terminal cockpit for rolling back a bad release: live panels, the runbook's "
            "steps fired over SSH, self-ticking validation checks, an audit journal."
        ),
        epilog="Without a subcommand, opens the TUI on --profile. --profile and --read-only may be "
               "written before or after the subcommand; they mean the same either way.",
    )
    p.add_argument("--version", action="version", version=f"cockpit {__version__}")
    _add_globals(p, None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    d = sub.add_parser("demo", help="open the TUI on an embedded, simulated Academy stack")
    _add_globals(d, "demo")
    d.add_argument("--speed", type=float, default=1.0, action=_Once,
                   help="time compression of the simulation")

    c = sub.add_parser("check", help="validate a profile; exit 0, or 2 with file:line: message")
    c.add_argument("check_profile", nargs="?", metavar="PROFILE", help="the profile (or give --profile)")
    _add_globals(c, "check")

    s = sub.add_parser("status", help="sample every signal once and evaluate every check")
    _add_globals(s, "status")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("run", help="run one step headless, journalled")
    r.add_argument("step", metavar="STEP")
    _add_globals(r, "run")
    r.add_argument("--yes", action="store_true", help="confirm an ordinary step")
    r.add_argument("--confirm", metavar="ENV", action=_Once, help="typed confirmation: the environment name")
    r.add_argument("--hosts", metavar="H1,H2", action=_Once,
                   help="restrict to these hosts of the step's group (at least one)")
    r.add_argument("--override", action="store_true", help="run although `after` steps have not succeeded (journalled)")

    rep = sub.add_parser("report", help="the incident report from a journal; --stats: step durations across incidents")
    rep.add_argument("journal", metavar="JOURNAL", nargs="?", default=None, help="a journal file (or --latest)")
    _add_globals(rep, "report")
    rep.add_argument("--latest", action="store_true", help="the newest incident's journal (of --profile P if given)")
    rep.add_argument("--format", choices=("md", "json", "html"), default="md", action=_Once)
    rep.add_argument("--incident", metavar="ID", action=_Once, help="incident id/name (default: the profile's name)")
    rep.add_argument("--output", metavar="FILE", action=_Once, help="write the report to FILE (default: stdout)")
    rep.add_argument("--stats", action="store_true",
                     help="per-step median and p90 durations across the journals of --profile")

    ab = sub.add_parser("abandon", help="close the profile's open session for good (the next driver starts anew)")
    _add_globals(ab, "abandon")
    ab.add_argument("--reason", metavar="TEXT", help="why, for the record")

    sb = sub.add_parser("setup-bastion", help="create the shared (bastion-wide) state directory for a group")
    _add_globals(sb, "setup-bastion")
    sb.add_argument("--group", required=True, metavar="GROUP", action=_Once,
                    help="Unix group of the people who drive or observe")
    sb.add_argument("--dir", metavar="PATH", action=_Once, help="the directory (default /var/lib/cockpit)")
    sb.add_argument("--member", action="append", metavar="USER", help="add USER to the group (repeatable)")

    w = sub.add_parser("watch", help="follow the incident headless, as an observer (one line per event)")
    _add_globals(w, "watch")
    w.add_argument("--json", action="store_true", help="one JSON object per line")
    w.add_argument("--for", dest="for_seconds", type=float, metavar="SECONDS", action=_Once,
                   help="stop after this long")
    w.add_argument("--no-poll", action="store_true", help="never sample the sources, even with no driver")

    rp = sub.add_parser("replay", help="watch a recorded incident again on the cockpit's screen (read-only)")
    rp.add_argument("journal", metavar="JOURNAL", help="a journal file (its recordings are read from beside it)")
    _add_globals(rp, "replay")
    rp.add_argument("--speed", type=float, default=1.0, action=_Once, metavar="N",
                    help="playback speed: 1 = real time, 10 = ten times faster")
    rp.add_argument("--at", metavar="HH:MM[:SS]", action=_Once, help="start at this time of the incident")
    rp.add_argument("--paused", action="store_true", help="start paused (space plays)")
    sv = sub.add_parser("serve", help="the read-only observer view in a browser (one process per visitor)")
    _add_globals(sv, "serve")
    sv.add_argument("--port", type=int, default=8000, metavar="N", action=_Once, help="TCP port (default 8000)")
    sv.add_argument("--host", default="127.0.0.1", metavar="ADDR", action=_Once,
                    help="address to bind (default 127.0.0.1: reach it through `ssh -L`)")
    sv.add_argument("--max-visitors", type=int, default=8, metavar="N", action=_Once,
                    help="concurrent visitors at most (each is a process; default 8)")
    sv.add_argument("--idle-timeout", type=float, default=1800.0, metavar="SECONDS", action=_Once,
                    help="disconnect a visitor after this long without input from the browser (default 1800)")

    ap = sub.add_parser("approve", help="approve (or refuse) a step the driver waits to run: the two-person rule")
    ap.add_argument("step", metavar="STEP")
    _add_globals(ap, "approve")
    ap.add_argument("--confirm", metavar="ENV", action=_Once, help="approve: the environment name, typed")
    ap.add_argument("--refuse", metavar="REASON", action=_Once, help="refuse, with a reason")
    ap.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", action=_Once,
                    help="wait this long for a request")

    pr = sub.add_parser("profile", help="profile helpers")
    _add_globals(pr, "profile")
    prs = pr.add_subparsers(dest="profile_command", metavar="ACTION", required=True, parser_class=_Parser)
    init = prs.add_parser("init", help="write a starter profile")
    init.add_argument("path", nargs="?", default="cockpit.toml", metavar="PATH")
    _add_globals(init, "profile")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    _misplaced_options(p, dict(sub.choices))
    return p


# positional arguments and options whose empty value is refused (never read as "not given")
_EMPTY = {
    "profile": "--profile is empty: name a profile file or a bundled profile",
    "check_profile": "PROFILE is empty: name a profile file or a bundled profile",
    "journal": "JOURNAL is empty: name a journal file",
    "path": "PATH is empty: name the file to write",
    "step": "STEP is empty: name a step of the profile",
}


def _merge_globals(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One value per global option wherever it was written; refuse conflicts and options that do not apply."""
    command = args.command
    for name, option in GLOBAL_OPTIONS.items():
        top = getattr(args, name, None)
        below = getattr(args, f"sub_{name}", None)
        if hasattr(args, f"sub_{name}"):
            delattr(args, f"sub_{name}")
        if top is not None and below is not None and top != below:
            parser.error(f"{option} given twice ({top!r} and {below!r}): give it once")
        value = top if top is not None else below
        if value is not None and (command, name) in NOT_APPLICABLE:
            parser.error(NOT_APPLICABLE[(command, name)])
        setattr(args, name, value)
    args.read_only = bool(args.read_only)
    # given but empty is not "not given": an empty name never falls back to a default
    for dest, message in _EMPTY.items():
        value = getattr(args, dest, None)
        if isinstance(value, str) and not value.strip():
            parser.error(message)
    if command == "check":
        given = args.check_profile
        if given is not None and args.profile is not None and given != args.profile:
            parser.error(f"cockpit check: two profiles given ({given!r} and --profile {args.profile!r})")
        args.profile = given if given is not None else args.profile
        if not args.profile:
            parser.error("cockpit check needs a profile: cockpit check PROFILE")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed, merged arguments; usage errors exit 2 (`Exit.USAGE`) with a message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    vars(args).pop("_given", None)
    _merge_globals(parser, args)
    return args


_COMMANDS = {
    None: "cockpit.commands.tui",
    "demo": "cockpit.commands.demo",
    "check": "cockpit.commands.check",
    "status": "cockpit.commands.status",
    "run": "cockpit.commands.run",
    "report": "cockpit.commands.report",
    "abandon": "cockpit.commands.abandon",
    "profile": "cockpit.commands.profile_init",
    "setup-bastion": "cockpit.commands.setup_bastion",
    "watch": "cockpit.commands.watch",
    "approve": "cockpit.commands.approve",
    "replay": "cockpit.commands.replay",
    "serve": "cockpit.commands.serve",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    module = importlib.import_module(_COMMANDS[args.command])
    try:
        return int(module.main(args))
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
