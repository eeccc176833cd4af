"""``cockpit report JOURNAL|--latest [--profile P] [--format md|json|html] [--incident ID] [--output FILE]``:
the incident report. ``cockpit report --stats --profile P``: the per-step duration table across the
profile's journals.

``--profile`` names the profile the report is about: with ``--latest`` it picks the newest of that
profile's journals (by the UTC start in the file name); with a JOURNAL (else the profile the journal
names, when that file is still there) it adds the steps never run, the check deadlines and the links.
The samples recorded beside the journal give the peaks and the HTML charts.

Exit 0; 2 for an unreadable journal, no journal found, or a bad profile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.commands.profile_arg import open_profile
from cockpit.exitcodes import Exit
from cockpit.journal import journals_of, read_journal
from cockpit.profile.model import Profile
from cockpit.state import journals_dir


def main(args: argparse.Namespace) -> int:
    def warn(message: str) -> None:
        print(f"cockpit report: warning: {message}", file=sys.stderr)

    if args.stats:
        return _stats(args)
    given = _given_profile(args)
    if given is False:
        return Exit.USAGE
    profile = given if isinstance(given, Profile) else None
    journal = _which(args, profile)
    if journal is None:
        return Exit.USAGE
    try:
        entries = read_journal(journal, on_warning=warn)
    except OSError as e:
        print(f"cockpit report: {journal}: {e.strerror or e}", file=sys.stderr)
        return Exit.USAGE
    if not entries:
        print(f"cockpit report: {journal}: no journal entries in this file", file=sys.stderr)
        return Exit.USAGE
    from cockpit.rca import samples_beside
    from cockpit.report import render_json, render_markdown

    profile = profile or _named_profile(entries, warn)
    samples = samples_beside(Path(journal))
    extra = {"profile": profile, "incident": args.incident, "samples": samples}
    if args.format == "json":
        return _write(args, json.dumps(render_json(entries, **extra), indent=2, ensure_ascii=False) + "\n")
    if args.format == "html":
        from cockpit.report_html import render_html

        return _write(args, render_html(render_json(entries, **extra), samples))
    return _write(args, render_markdown(entries, **extra))


def _given_profile(args: argparse.Namespace) -> Profile | bool | None:
    """The ``--profile`` given (None: not given; False: given but unusable, already said why)."""
    if not getattr(args, "profile", None):
        return None
    profile = open_profile(args.profile, "cockpit report")
    return False if profile is None else profile


def _named_profile(entries: list[dict[str, Any]], warn: Callable[[str], None]) -> Profile | None:
    """The profile the journal names, when that file is still there and still loads."""
    from cockpit.profile.load import load_profile

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


def _stats(args: argparse.Namespace) -> int:
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


_STAMP = re.compile(r"(\d{8}T\d{6}Z)")


def _which(args: argparse.Namespace, profile: Profile | None) -> str | None:
    """The journal to report on, or None after saying why there is none."""
    latest = bool(getattr(args, "latest", False))
    if args.journal and latest:
        print("cockpit report: give a JOURNAL or --latest [--profile P], not both", file=sys.stderr)
        return None
    if args.journal:
        return str(args.journal)
    if not latest:
        print("cockpit report: which journal? give its path, or --latest [--profile P] "
              "(or --stats --profile P)", file=sys.stderr)
        return None
    if profile is not None:
        candidates = journals_of(profile)
        where = f"profile {args.profile}"
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
