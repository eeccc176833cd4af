"""``cockpit report JOURNAL [--format md|json]``: the incident timeline (exit 0; 2 unreadable journal)."""

from __future__ import annotations

import argparse
import json
import sys

from cockpit.exitcodes import Exit
from cockpit.journal import read_journal
from cockpit.report import render_json, render_markdown


def main(args: argparse.Namespace) -> int:
    def warn(message: str) -> None:
        print(f"cockpit report: warning: {message}", file=sys.stderr)

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
