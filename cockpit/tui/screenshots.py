"""Make the README's screenshots: ``python -m cockpit.tui.screenshots [OUTDIR]`` (default ``screenshots/``).

Each scene of `cockpit.tui.scenes` (fixed data, frozen clock, UTC) is drawn
headless and saved as an SVG; running it twice gives the same files.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path


def use_utc() -> None:
    """Clock times on screen are local: pin them to UTC so the images do not depend on the machine."""
    os.environ["TZ"] = "UTC"
    time.tzset()


async def make(outdir: Path, names: list[str] | None = None) -> list[Path]:
    from cockpit.tui import scenes

    use_utc()
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(scenes.SCENES):
        app, setup = scenes.build(name)
        async with app.run_test(size=scenes.scene(name).size) as pilot:
            await setup(pilot)
            path = outdir / f"{name}.svg"
            path.write_text(app.export_screenshot(title=f"cockpit — {name}"))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else Path("screenshots")
    for path in asyncio.run(make(outdir)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
