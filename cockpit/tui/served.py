"""The process one browser visitor of ``cockpit serve`` gets: the screen on an `ObserverController`.

``python -m cockpit.tui.served --profile P`` (textual-serve runs it under Textual's web
driver, one process per visitor). Nothing in it can act: the controller refuses every
action (`cockpit.serve_observer`), the app is read-only, and the process neither takes the
driver lock nor writes the journal. A profile that cannot be loaded gives a one-line
message on the visitor's page's process stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from cockpit.exitcodes import Exit


async def _run(profile_path: str) -> int:
    from cockpit.profile.load import ProfileError, load_profile
    from cockpit.serve_observer import ObserverController
    from cockpit.tui.app import CockpitApp

    try:
        profile = load_profile(profile_path)
    except (ProfileError, OSError) as e:
        print(f"cockpit serve: cannot load {profile_path}: {e}", file=sys.stderr)
        return int(Exit.USAGE)
    controller = ObserverController(profile)
    app = CockpitApp(profile, controller=controller, read_only=True, note="browser (cockpit serve): read-only")
    try:
        await app.run_async()
    finally:
        with contextlib.suppress(Exception):
            await controller.stop()
    return int(Exit.OK)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="cockpit-served", description=__doc__)
    ap.add_argument("--profile", required=True)
    args = ap.parse_args(argv)
    return asyncio.run(_run(args.profile))


if __name__ == "__main__":
    sys.exit(main())
