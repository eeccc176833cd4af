"""The command line: parses arguments and hands over to one module per subcommand.

Subcommand modules are imported lazily so ``cockpit check`` never pays for the
TUI, and the TUI is only imported by the commands that open it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cockpit import __version__

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cockpit",
        description=(
            "A terminal cockpit for rolling back a bad release: live panels, the runbook's "
            "steps fired over SSH, self-ticking validation checks, an audit journal."
        ),
        epilog="Without a subcommand, opens the TUI on --profile.",
    )
    p.add_argument("--version", action="version", version=f"cockpit {__version__}")
    p.add_argument("--profile", metavar="NAME|PATH", help="profile file, or a bundled profile's name")
    p.add_argument("--read-only", action="store_true", help="observer mode: nothing can be fired")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="open the TUI on an embedded, simulated Academy stack")
    d.add_argument("--read-only", action="store_true", help="observer mode: nothing can be fired")
    d.add_argument("--speed", type=float, default=1.0, help="time compression of the simulation")

    c = sub.add_parser("check", help="validate a profile; exit 0, or 2 with file:line: message")
    c.add_argument("profile", metavar="PROFILE")

    s = sub.add_parser("status", help="sample every signal once and evaluate every check")
    s.add_argument("--profile", required=True, metavar="NAME|PATH")
    s.add_argument("--json", action="store_true", help="machine-readable output")

    r = sub.add_parser("run", help="run one step headless, journalled")
    r.add_argument("step", metavar="STEP")
    r.add_argument("--profile", required=True, metavar="NAME|PATH")
    r.add_argument("--yes", action="store_true", help="confirm an ordinary step")
    r.add_argument("--confirm", metavar="ENV", help="typed confirmation: the environment name")
    r.add_argument("--read-only", action="store_true", help="refuse (for testing a profile safely)")
    r.add_argument("--hosts", metavar="H1,H2", help="restrict to these hosts of the step's group")
    r.add_argument("--override", action="store_true", help="run although `after` steps have not succeeded (journalled)")

    rep = sub.add_parser("report", help="the incident timeline from a journal")
    rep.add_argument("journal", metavar="JOURNAL")
    rep.add_argument("--format", choices=("md", "json"), default="md")

    sb = sub.add_parser("setup-bastion", help="create the shared (bastion-wide) state directory for a group")
    sb.add_argument("--group", required=True, metavar="GROUP", help="Unix group of the people who drive or observe")
    sb.add_argument("--dir", metavar="PATH", help="the directory (default /var/lib/cockpit)")
    sb.add_argument("--member", action="append", metavar="USER", help="add USER to the group (repeatable)")

    w = sub.add_parser("watch", help="follow the incident headless, as an observer (one line per event)")
    w.add_argument("--profile", required=True, metavar="NAME|PATH")
    w.add_argument("--json", action="store_true", help="one JSON object per line")
    w.add_argument("--for", dest="for_seconds", type=float, metavar="SECONDS", help="stop after this long")
    w.add_argument("--no-poll", action="store_true", help="never sample the sources, even with no driver")

    ap = sub.add_parser("approve", help="approve (or refuse) a step the driver waits to run: the two-person rule")
    ap.add_argument("step", metavar="STEP")
    ap.add_argument("--profile", required=True, metavar="NAME|PATH")
    ap.add_argument("--confirm", metavar="ENV", help="approve: the environment name, typed")
    ap.add_argument("--refuse", metavar="REASON", help="refuse, with a reason")
    ap.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a request")

    pr = sub.add_parser("profile", help="profile helpers")
    prs = pr.add_subparsers(dest="profile_command", metavar="ACTION")
    init = prs.add_parser("init", help="write a starter profile")
    init.add_argument("path", nargs="?", default="cockpit.toml", metavar="PATH")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    return p


_COMMANDS = {
    None: "cockpit.commands.tui",
    "demo": "cockpit.commands.demo",
    "check": "cockpit.commands.check",
    "status": "cockpit.commands.status",
    "run": "cockpit.commands.run",
    "report": "cockpit.commands.report",
    "profile": "cockpit.commands.profile_init",
    "setup-bastion": "cockpit.commands.setup_bastion",
    "watch": "cockpit.commands.watch",
    "approve": "cockpit.commands.approve",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "profile" and not getattr(args, "profile_command", None):
        parser.parse_args(["profile", "--help"])
    module = importlib.import_module(_COMMANDS[args.command])
    try:
        return int(module.main(args))
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
