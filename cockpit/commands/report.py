"""``cockpit report JOURNAL [--format md|json|html] [--incident ID] [--profile P] [--output FILE]``: the
incident report (exit 0; 2 unreadable journal). ``cockpit report --stats --profile P``: the per-step
duration table across the profile's journals.

``--profile`` (else the profile the journal names, when that file is still there) adds the steps
never run, the check deadlines and the links; the samples recorded beside the journal give the
peaks and the HTML charts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.exitcodes import Exit
from cockpit.journal import read_journal
from cockpit.profile.model import Profile


def _profile(args: argparse.Namespace, entries: list[dict[str, Any]], warn: Callable[[str], None]) -> Profile | None:
    from cockpit.commands.profile_arg import open_profile
    from cockpit.profile.load import load_profile

    if getattr(args, "profile", None):
        return open_profile(args.profile, "cockpit report")
    path = next((e.get("profile_path") for e in entries if e.get("profile_path")), None)
    if isinstance(path, str) and Path(path).is_file():
        try:
            return load_profile(Path(path))
        except Exception as e:   # a profile changed since: the report does without it
            warn(f"{path}: not used ({type(e).__name__}: {e})")
    return None


def _write(args: argparse.Namespace, text: str) -> int:
    if not args.output:
        sys.stdout.write(text)
        return Exit.OK
    try:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        print(f"cockpit report: {args.output}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    return Exit.OK


def main(args: argparse.Namespace) -> int:
    def warn(message: str) -> None:
        print(f"cockpit report: warning: {message}", file=sys.stderr)

    if args.stats:
        return _stats(args)
    if not args.journal:
        print("cockpit report: name a JOURNAL (or --stats --profile P)", file=sys.stderr)
        return Exit.USAGE
    try:
        entries = read_journal(args.journal, on_warning=warn)
    except OSError as e:
        print(f"cockpit report: {args.journal}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    if not entries:
        print(f"cockpit report: {args.journal}: no journal entries in this file", file=sys.stderr)
        return Exit.USAGE
    from cockpit.rca import samples_beside
    from cockpit.report import render_json, render_markdown

    profile = _profile(args, entries, warn)
    if getattr(args, "profile", None) and profile is None:
        return Exit.USAGE
    samples = samples_beside(Path(args.journal))
    extra = {"profile": profile, "incident": args.incident, "samples": samples}
    if args.format == "json":
        return _write(args, json.dumps(render_json(entries, **extra), indent=2, ensure_ascii=False) + "\n")
    if args.format == "html":
        from cockpit.report_html import render_html

        return _write(args, render_html(render_json(entries, **extra), samples))
    return _write(args, render_markdown(entries, **extra))


def _stats(args: argparse.Namespace) -> int:
    from cockpit.commands.profile_arg import open_profile
    from cockpit.forecast import stats_table, step_stats

    if not getattr(args, "profile", None):
        print("cockpit report --stats: name the profile: --profile NAME|PATH", file=sys.stderr)
        return Exit.USAGE
    profile = open_profile(args.profile, "cockpit report")
    if profile is None:
        return Exit.USAGE
    stats = step_stats(profile)
    if args.format == "json":
        return _write(args, json.dumps({k: v.as_dict() for k, v in stats.items()}, indent=2) + "\n")
    return _write(args, stats_table(profile, stats))
