"""``cockpit check PROFILE``: validate a profile; exit 0 (warnings allowed) or 2 with ``file:LINE: message``."""

from __future__ import annotations

import argparse
import sys

from cockpit.commands.profile_arg import read_profile
from cockpit.exitcodes import Exit
from cockpit.profile.locate import ProfileNotFound
from cockpit.profile.model import Profile


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
        loaded = read_profile(args.profile)
    except ProfileNotFound as e:
        print(f"cockpit check: {e}", file=sys.stderr)
        return Exit.USAGE
    for p in loaded.problems:
        print(p.format(loaded.shown))
    if loaded.profile is None:
        n = len(loaded.errors)
        print(f"{loaded.shown}: {n} error{'' if n == 1 else 's'}", file=sys.stderr)
        return Exit.USAGE
    print(f"{loaded.shown}: ok ({summary(loaded.profile)})")
    for line in inventory_lines(loaded.profile):
        print(line)
    for source, how in loaded.profile.inventory_cache.items():
        print(f"  {source}: {how}")
    return Exit.OK


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

