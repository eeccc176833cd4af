"""``cockpit [--profile NAME|PATH] [--read-only]``: the TUI (the default command).

A bad profile prints the loader's problems and exits 2; a terminal that is not
a terminal, or too small, gets a clear message instead of a broken screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cockpit.cli import EXIT_USAGE

MIN_WIDTH, MIN_HEIGHT = 80, 24


def terminal_problem() -> str | None:
    """Why the TUI cannot draw here (None when it can). Textual draws on stderr."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return "the TUI needs a terminal; headless, use `cockpit status` or `cockpit run STEP`"
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except OSError:
        return None
    if size.columns < MIN_WIDTH or size.lines < MIN_HEIGHT:
        return (
            f"the terminal is {size.columns}x{size.lines}; the cockpit needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT} (enlarge the window or zoom out)"
        )
    return None


def load(name_or_path: str | None, command: str = "cockpit") -> object | None:
    """The profile, or None after printing why it cannot be used."""
    from cockpit.profile.load import validate
    from cockpit.profile.locate import ProfileNotFound, locate_profile
    from cockpit.profile.problems import errors

    if not name_or_path:
        name_or_path = os.environ.get("COCKPIT_PROFILE") or ("cockpit.toml" if Path("cockpit.toml").is_file() else None)
    if not name_or_path:
        print(f"{command}: no profile: use --profile NAME|PATH (or `cockpit demo`)", file=sys.stderr)
        return None
    try:
        path = locate_profile(name_or_path)
    except ProfileNotFound as e:
        print(f"{command}: {e}", file=sys.stderr)
        return None
    profile, problems = validate(path)
    bad = errors(problems)
    for p in problems:
        print(p.format(str(path)), file=sys.stderr)
    if profile is None or bad:
        n = len(bad)
        print(f"{command}: {path}: {n} error{'' if n == 1 else 's'}; nothing started", file=sys.stderr)
        return None
    return profile


def main(args: argparse.Namespace) -> int:
    profile = load(getattr(args, "profile", None))
    if profile is None:
        return EXIT_USAGE
    problem = terminal_problem()
    if problem:
        print(f"cockpit: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from cockpit.tui.launch import run_tui

    return run_tui(profile, read_only=bool(args.read_only))  # type: ignore[arg-type]
