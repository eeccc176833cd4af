"""Open the TUI: ``run_tui(profile, read_only=..., demo=...)``.

The app and the controller share one event loop. With ``demo`` (an unentered
async context manager such as ``DemoStack``), the simulated stack is started in
that loop first and the app runs on ``stack.profile``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from typing import Any

from cockpit.profile.model import Profile


def run_tui(profile: Profile | None, *, read_only: bool, demo: Any | None = None, note: str = "",
            fresh: bool = False) -> int:
    """Run the cockpit until the user quits; the exit status of the app (0 normally)."""

    async def main() -> int:
        if demo is not None:
            async with demo as stack:
                return await run_app(stack.profile, read_only=read_only, note="demo: simulated Academy stack",
                                     demo=True, fresh=True)
        if profile is None:
            raise ValueError("run_tui needs a profile or a demo stack")
        return await run_app(profile, read_only=read_only, note=note, fresh=fresh)

    return asyncio.run(main())


async def run_app(profile: Profile, *, read_only: bool, note: str = "", demo: bool = False,
                  fresh: bool = False) -> int:
    """Build the controller and the app on the running loop and run them; always stops the controller."""
    from cockpit.controller import Controller
    from cockpit.tui.app import CockpitApp

    controller = Controller(profile, read_only=read_only, fresh=fresh)
    app = CockpitApp(profile, controller=controller, read_only=read_only, note=note)
    try:
        result = await app.run_async()
    finally:
        if not app.stopped:
            with contextlib.suppress(Exception):
                await controller.stop()
        for line in quit_lines(app.journal_path, profile.path, demo=demo):
            print(line)
    if controller.unrecorded:    # the screen is gone: say it where the operator will still read it
        print(f"cockpit: {controller.unrecorded}", file=sys.stderr)
        return int(result or 1)
    return int(result or 0)


def quit_lines(journal: str | None, profile_path: str, *, demo: bool = False) -> list[str]:
    """What quitting prints: where the journal is and the command that turns it into the report."""
    if journal is None:
        return []
    again = f"cockpit report {shlex.quote(journal)}" if demo else \
        f"cockpit report --latest --profile {shlex.quote(profile_path)}"
    return [f"journal: {journal}", f"report:  {again}"]
