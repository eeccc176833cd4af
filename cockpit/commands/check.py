"""``cockpit check PROFILE``: validate a profile; exit 0 (warnings allowed) or 2 with ``file:LINE: message``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cockpit.cli import EXIT_OK, EXIT_USAGE
from cockpit.profile.load import validate
from cockpit.profile.locate import ProfileNotFound, locate_profile
from cockpit.profile.model import Profile
from cockpit.profile.problems import errors


def summary(profile: Profile) -> str:
    """``4 host groups, 5 signals, 4 checks, 19 steps``."""

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return ", ".join(
        [
            n(len(profile.hosts), "host group"),
            n(len(profile.signals), "signal"),
            n(len(profile.checks), "check"),
            n(len(profile.steps), "step"),
        ]
    )


def main(args: argparse.Namespace) -> int:
    try:
        path = locate_profile(args.profile)
    except ProfileNotFound as e:
        print(f"cockpit check: {e}", file=sys.stderr)
        return EXIT_USAGE
    shown = args.profile if Path(args.profile).expanduser().is_file() else _relative(path)
    profile, problems = validate(path)
    for p in problems:
        print(p.format(shown))
    if profile is None or errors(problems):
        n = len(errors(problems))
        print(f"{shown}: {n} error{'' if n == 1 else 's'}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{shown}: ok ({summary(profile)})")
    for line in inventory_lines(profile):
        print(line)
    return EXIT_OK


def inventory_lines(profile: Profile) -> list[str]:
    """``  from Ansible inventory hosts.ini: web 2 hosts, workers 3 hosts``, one line per source."""
    by_source: dict[str, list[str]] = {}
    for group, source in profile.host_sources.items():
        by_source.setdefault(source, []).append(group)
    return [
        f"  from {source}: " + ", ".join(
            f"{g} {len(profile.hosts[g])} host{'' if len(profile.hosts[g]) == 1 else 's'}" for g in groups
        )
        for source, groups in by_source.items()
    ]


def _relative(path: Path) -> str:
    """A bundled profile's file, relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
