"""The TUI command (`cockpit [--profile P] [--read-only]`) as users run it: a real process on a real pty."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tui.ptyrun import spawn

REPO = Path(__file__).resolve().parent.parent.parent

MINIMAL = """
[cockpit]
name = "tui-cli"
environment = "drill"

[[step]]
id = "hello"
title = "Say hello (local)"
phase = "prepare"
kind = "local"
key = "h"
command = "echo hello"
"""


def cockpit(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True, text=True, timeout=60, check=False,
                          cwd=REPO, stdin=stdin)


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_bad_profile_prints_problems_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[cockpit]\nname = "x"\nenvironment = "drill"\nrto = "fifteen"\n')
    r = cockpit("--profile", str(bad))
    assert r.returncode == 2
    assert f"{bad}:4:" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_missing_profile_is_a_clear_message(tmp_path: Path) -> None:
    r = cockpit("--profile", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert "nope.toml" in r.stderr and "Traceback" not in r.stderr


def test_no_profile_is_a_clear_message(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "cockpit"], capture_output=True, text=True, timeout=60, check=False,
                       cwd=tmp_path, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 2
    assert "no profile: use --profile NAME|PATH" in r.stderr and "Traceback" not in r.stderr


def test_not_a_terminal_is_a_clear_message(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text(MINIMAL)
    r = cockpit("--profile", str(good))
    assert r.returncode == 2
    assert "needs a terminal" in r.stderr


def test_terminal_too_small_is_a_clear_message(tmp_path: Path) -> None:
    good = tmp_path / "p.toml"
    good.write_text(MINIMAL)
    p = spawn([sys.executable, "-m", "cockpit", "--profile", str(good)], cols=60, rows=20, cwd=str(REPO))
    try:
        assert p.wait(timeout=30) == 2
    finally:
        p.kill()
    assert "the terminal is 60x20; the cockpit needs at least 80x24" in p.text()


@pytest.mark.parametrize("read_only", [False, True])
def test_opens_draws_and_quits_on_a_pty(tmp_path: Path, read_only: bool) -> None:
    good = tmp_path / "p.toml"
    good.write_text(MINIMAL)
    ready = tmp_path / "ready"
    args = [sys.executable, "-m", "cockpit", "--profile", str(good)] + (["--read-only"] if read_only else [])
    p = spawn(args, env={"COCKPIT_BENCH_READY_FILE": str(ready)}, cwd=str(REPO))
    try:
        wait_for(ready.exists, 45, "the first full screen")
        wait_for(lambda: "Say hello (local)" in p.text(), 30, "the checklist drawn")
        assert ("READ-ONLY" if read_only else "DRIVER") in p.text()
        p.send(b"q")
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
    assert "Traceback" not in p.text()
    after = p.text().rsplit("\x1b[?1049l", 1)[-1]  # what is printed once the screen is given back
    if read_only:
        assert "journal:" not in after  # an observer writes no journal
    else:
        journal = re.search(r"journal: (\S+\.jsonl)", after)
        assert journal and Path(journal.group(1)).is_file(), after
        assert f"report:  cockpit report --latest --profile {good}" in after
        r = cockpit("report", "--latest", "--profile", str(good))
        assert r.returncode == 0 and "tui-cli" in r.stdout, r.stderr
    # the driver released its lock and closed its journal on the way out
    state = Path(os.environ["XDG_STATE_HOME"]) / "cockpit" / "locks"
    assert not any(f.stat().st_size for f in state.glob("*")) if state.exists() else True


def test_no_color_draws_in_grey_only(tmp_path: Path) -> None:
    """NO_COLOR: Textual's monochrome filter; state stays readable from the symbols alone."""

    good = tmp_path / "p.toml"
    good.write_text(MINIMAL)
    ready = tmp_path / "ready"
    p = spawn([sys.executable, "-m", "cockpit", "--profile", str(good)],
              env={"COCKPIT_BENCH_READY_FILE": str(ready), "NO_COLOR": "1"}, cwd=str(REPO))
    try:
        wait_for(ready.exists, 45, "the first full screen")
        wait_for(lambda: "Say hello (local)" in p.text(), 30, "the checklist drawn")
        p.send(b"q")
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
    # TERM=xterm-256color: colours are 256-palette indexes; greys are 232-255 (+ 16 black, 231 white)
    colours = [int(n) for n in re.findall(r"\x1b\[(?:[0-9;]*;)?[34]8;5;(\d+)", p.text())]
    assert colours, "expected colour escapes to inspect"
    grey = {0, 7, 8, 15, 16, 231, *range(232, 256)}
    assert set(colours) <= grey, set(colours) - grey
    assert re.search(r"○ -\s+Say hello \(local\)", re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", p.text()))
