"""``cockpit demo [--read-only] [--speed N]``: the TUI against the embedded, simulated Academy stack.

The stack (`cockpit.demo.stack.DemoStack`) is started inside the TUI's event loop
and stopped when the TUI exits; nothing outside temporary directories and the
journal is written, nothing leaves the machine.

Pair rollback: while a ``cockpit demo`` drives (it holds the demo's lock), another
``cockpit demo`` — in a second terminal, or another user's on a bastion with a
shared state directory — starts no simulation of its own: it follows that demo
read-only, from its journal and its published samples (the same incident).
"""

from __future__ import annotations

import argparse
import math
import sys

from cockpit.exitcodes import Exit
from cockpit.profile.model import Profile


def demo_driver() -> tuple[Profile, str] | None:
    """(the bundled demo profile, who drives) when a demo is driven right now, else None."""
    from cockpit.lock import DriverLock
    from cockpit.profile.load import load_profile
    from cockpit.profile.locate import locate_profile

    profile = load_profile(locate_profile("demo"))
    holder = DriverLock.for_profile(profile).current_holder()
    return (profile, holder.describe()) if holder is not None else None


def main(args: argparse.Namespace) -> int:
    speed = float(getattr(args, "speed", 1.0))
    if not (speed > 0 and math.isfinite(speed)) or speed > 1000:
        print(f"cockpit demo: --speed must be a number between 0 and 1000 (got {speed:g})", file=sys.stderr)
        return Exit.USAGE
    from cockpit.demo.stack import DemoStack
    from cockpit.profile.problems import ProfileError
    from cockpit.tui.launch import run_tui

    try:
        driving = demo_driver()
        if driving is not None:
            profile, holder = driving
            print(f"cockpit demo: following the demo driven by {holder} (read-only)", file=sys.stderr)
            return run_tui(profile, read_only=True, note=f"demo: following {holder}", fresh=True)
        return run_tui(None, read_only=bool(args.read_only), demo=DemoStack(speed=speed))
    except ProfileError as exc:
        print(f"cockpit demo: the bundled demo profile is invalid: {exc}", file=sys.stderr)
        return Exit.USAGE
    except OSError as exc:
        print(f"cockpit demo: cannot start the simulated stack: {exc.strerror or exc}", file=sys.stderr)
        return Exit.FAILED
