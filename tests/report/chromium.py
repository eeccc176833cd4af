"""Headless Chromium (Debian's /usr/bin/chromium) on a local file: its DOM after load, a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--disable-extensions", "--disable-background-networking"]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise RuntimeError("chromium is not installed (Debian: apt-get install chromium)")
    return exe


def dump_dom(page: Path, timeout: float = 120) -> str:
    r = subprocess.run([chromium(), *FLAGS, "--dump-dom", page.resolve().as_uri()], capture_output=True,
                       text=True, timeout=timeout, check=True)
    return r.stdout


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1200, 1800), timeout: float = 120) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium(), *FLAGS, f"--window-size={size[0]},{size[1]}", f"--screenshot={out.resolve()}",
                    page.resolve().as_uri()], capture_output=True, timeout=timeout, check=True)
    return out


if __name__ == "__main__":    # python -m tests.report.chromium: screenshots/report-html.png from the test incident
    import sys
    import tempfile

    from tests.engine.conftest import REPO, cockpit
    from tests.report.test_rca import write_incident

    with tempfile.TemporaryDirectory() as tmp:
        journal = write_incident(Path(tmp))
        html = Path(tmp) / "report.html"
        r = cockpit("report", str(journal), "--format", "html", "--output", str(html), "--incident", "INC-77")
        if r.returncode:
            sys.exit(r.stderr)
        shot = screenshot(html, REPO / "screenshots" / "report-html.png")
        print(f"{shot} ({shot.stat().st_size} bytes)")
