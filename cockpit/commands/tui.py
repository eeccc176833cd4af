"""``cockpit [--profile NAME|PATH] [--read-only]``: the TUI (the default command).

A bad profile prints the loader's problems and exits 2; a terminal that is not
a terminal, or too small, gets a clear message instead of a broken screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from cockpit.exitcodes import Exit

if TYPE_CHECKING:
    from cockpit.profile.model import Profile

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


def load(name_or_path: str | None, command: str = "cockpit") -> Profile | None:
    """The profile (``--profile``, else ``$COCKPIT_PROFILE``, else ``./cockpit.toml``), or None after saying why."""
    from cockpit.commands.profile_arg import open_profile

    return open_profile(name_or_path, command, implicit=True)


def main(args: argparse.Namespace) -> int:
    profile = load(args.profile)
    if profile is None:
        return Exit.USAGE
    problem = terminal_problem()
    if problem:
        print(f"cockpit: {problem}", file=sys.stderr)
        return Exit.USAGE
    from cockpit.tui.launch import run_tui

    return run_tui(profile, read_only=bool(args.read_only))
