"""``cockpit report JOURNAL|--latest [--profile P] [--format md|json]``: the incident timeline.

Exit 0; 2 for an unreadable journal, no journal found, or a bad profile. ``--latest`` picks the
journal of the newest incident (by its UTC start in the file name), of one profile with ``--profile``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from cockpit.commands.profile_arg import open_profile
from cockpit.exitcodes import Exit
from cockpit.journal import journals_of, read_journal
from cockpit.report import render_json, render_markdown
from cockpit.state import journals_dir


def main(args: argparse.Namespace) -> int:
    def warn(message: str) -> None:
        print(f"cockpit report: warning: {message}", file=sys.stderr)

    journal = _which(args)
    if journal is None:
        return Exit.USAGE
    args.journal = journal
    try:
        entries = read_journal(args.journal, on_warning=warn)
    except OSError as e:
        print(f"cockpit report: {args.journal}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    if not entries:
        print(f"cockpit report: {args.journal}: no journal entries in this file", file=sys.stderr)
        return Exit.USAGE
    if args.format == "json":
        print(json.dumps(render_json(entries), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_markdown(entries))
    return Exit.OK


_STAMP = re.compile(r"(\d{8}T\d{6}Z)")


def _which(args: argparse.Namespace) -> str | None:
    """The journal to report on, or None after saying why there is none."""
    latest, profile = bool(getattr(args, "latest", False)), getattr(args, "profile", None)
    if args.journal and (latest or profile):
        print("cockpit report: give a JOURNAL or --latest [--profile P], not both", file=sys.stderr)
        return None
    if args.journal:
        return str(args.journal)
    if not latest:
        print("cockpit report: which journal? give its path, or --latest [--profile P]", file=sys.stderr)
        return None
    if profile:
        loaded = open_profile(profile, "cockpit report")
        if loaded is None:
            return None
        candidates = journals_of(loaded)
        where = f"profile {profile}"
    else:
        candidates = list(journals_dir().glob("*.jsonl"))
        where = str(journals_dir())
    newest = max(candidates, key=_started, default=None)
    if newest is None:
        print(f"cockpit report: no journal found for {where}", file=sys.stderr)
        return None
    print(f"cockpit report: {newest}", file=sys.stderr)
    return str(newest)


def _started(path: Path) -> tuple[str, float]:
    """Newest incident first: the UTC start in the name, then the last write."""
    m = _STAMP.search(path.name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    return (m.group(1) if m else "", mtime)
