"""``cockpit replay JOURNAL [--speed N] [--at HH:MM[:SS]] [--paused] [--profile P]``: watch a recorded
incident again on the cockpit's screen, read-only.

The journal, the samples the panels drew and the step recordings beside it are played
back through the same app (`cockpit.tui.replay.ReplayApp`) at ``--speed`` (1× real time,
10×, …), from the start or from ``--at`` (a time of the incident's day, local time, or
Unix seconds). What is missing or truncated in the recording is said on screen. Nothing
is fired, no lock is taken, nothing is written.

The profile is ``--profile``, else the profile file the journal names (when it still loads).
Exit 0; 2 for an unreadable journal, a journal with no entries, no usable profile, a bad
``--speed``/``--at``, or no terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from cockpit.exitcodes import Exit


def parse_at(text: str, start: float) -> float | None:
    """``HH:MM`` / ``HH:MM:SS`` on the incident's first day (local time; the next day when that is
    before the start), or Unix seconds; None when it is neither."""
    try:
        return float(text) if float(text) > 86_400 else None
    except ValueError:
        pass
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            t = dt.datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        day = dt.datetime.fromtimestamp(start)
        at = day.replace(hour=t.hour, minute=t.minute, second=t.second, microsecond=0).timestamp()
        return at + 86_400 if at < start - 43_200 else at
    return None


def _profile(args: argparse.Namespace, entries: list[dict[str, Any]]) -> Any:
    from cockpit.commands.profile_arg import open_profile
    from cockpit.profile.load import load_profile

    if args.profile:
        return open_profile(args.profile, "cockpit replay")
    path = next((e.get("profile_path") for e in entries if e.get("profile_path")), None)
    if isinstance(path, str) and Path(path).is_file():
        try:
            return load_profile(Path(path))
        except Exception as e:   # the file changed since: say so, ask for one
            print(f"cockpit replay: {path}: {type(e).__name__}: {e}", file=sys.stderr)
    print("cockpit replay: which profile? the journal names none that still loads: give --profile NAME|PATH",
          file=sys.stderr)
    return None


def main(args: argparse.Namespace) -> int:
    from cockpit.replay import load_incident

    if not args.speed > 0 or args.speed > 1000:
        print("cockpit replay: --speed must be above 0 and at most 1000 (1 = real time)", file=sys.stderr)
        return Exit.USAGE
    journal = Path(args.journal)
    try:
        incident = load_incident(journal)
    except OSError as e:
        print(f"cockpit replay: {journal}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    if not incident.entries:
        print(f"cockpit replay: {journal}: no journal entries in this file", file=sys.stderr)
        return Exit.USAGE
    at = None
    if args.at is not None:
        at = parse_at(args.at, incident.start)
        if at is None:
            print(f"cockpit replay: --at {args.at!r}: give HH:MM, HH:MM:SS or Unix seconds", file=sys.stderr)
            return Exit.USAGE
    profile = _profile(args, incident.entries)
    if profile is None:
        return Exit.USAGE
    named = next((e.get("profile") for e in incident.entries if e.get("type") == "session_start"), None)
    if named and named != profile.cockpit.name:
        print(f"cockpit replay: warning: the journal is of profile {named!r}, drawn with "
              f"{profile.cockpit.name!r}", file=sys.stderr)
    from cockpit.commands.tui import terminal_problem

    problem = terminal_problem()
    if problem:
        if problem.startswith("the TUI needs a terminal"):
            problem = "the replay needs a terminal; headless, `cockpit report JOURNAL` gives the timeline"
        print(f"cockpit replay: {problem}", file=sys.stderr)
        return Exit.USAGE
    for line in incident.missing:
        print(f"cockpit replay: missing: {line}", file=sys.stderr)
    from cockpit.replay import ReplayFeed
    from cockpit.tui.replay import ReplayApp

    app = ReplayApp(profile, ReplayFeed(profile, incident), speed=args.speed, paused=args.paused, at=at,
                    note=f"replay of {journal.name}")
    app.run()
    return Exit.OK
