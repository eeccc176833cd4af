"""``cockpit demo [--read-only] [--speed N]``: the TUI against the embedded, simulated Academy stack.

The stack (`cockpit.demo.stack.DemoStack`) is started inside the TUI's event loop
and stopped when the TUI exits; nothing outside temporary directories and the
journal is written, nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import math
import sys

from cockpit.exitcodes import Exit


def main(args: argparse.Namespace) -> int:
    speed = float(getattr(args, "speed", 1.0))
    if not (speed > 0 and math.isfinite(speed)) or speed > 1000:
        print(f"cockpit demo: --speed must be a number between 0 and 1000 (got {speed:g})", file=sys.stderr)
        return Exit.USAGE
    from cockpit.demo.stack import DemoStack
    from cockpit.profile.problems import ProfileError
    from cockpit.tui.launch import run_tui

    try:
        return run_tui(None, read_only=bool(args.read_only), demo=DemoStack(speed=speed))
    except ProfileError as exc:
        print(f"cockpit demo: the bundled demo profile is invalid: {exc}", file=sys.stderr)
        return Exit.USAGE
    except OSError as exc:
        print(f"cockpit demo: cannot start the simulated stack: {exc.strerror or exc}", file=sys.stderr)
        return Exit.FAILED
