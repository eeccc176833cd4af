"""The suite's watchdog (tests/conftest.py) ends a run that hangs where pytest-timeout cannot reach."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO

HANG = '''
import asyncio


async def forever():
    try:
        await asyncio.Event().wait()
    except BaseException:          # swallows what pytest-timeout raises, as a background task would
        await asyncio.Event().wait()


def test_hangs():
    asyncio.run(forever())
'''


def test_a_hang_prints_every_stack_and_ends_the_run(tmp_path: Path) -> None:
    (tmp_path / "test_hang.py").write_text(HANG)
    env = dict(os.environ, COCKPIT_TEST_WATCHDOG="2")
    began = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), "-q", str(tmp_path / "test_hang.py")],
                         check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    took = time.monotonic() - began
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Timeout (0:00:02)!" in run.stderr and "in test_hangs" in run.stderr, run.stderr
    assert took < 60, took
