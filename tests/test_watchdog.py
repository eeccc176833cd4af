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

import pytest


async def forever():
    try:
        await asyncio.Event().wait()
    except BaseException:          # swallows what pytest-timeout raises, as a background task would
        await asyncio.Event().wait()


@pytest.fixture
def hangs_in_teardown():
    yield
    asyncio.run(forever())


def test_fails_then_its_teardown_hangs(hangs_in_teardown):
    assert 1 + 1 == 3, "a failure before the hang"
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
    # a failure cancels pytest's own timers: the teardown after it is still watched (CI hung there once)
    assert "Timeout (0:00:02)!" in run.stderr and "in hangs_in_teardown" in run.stderr, run.stderr
    # the failure before the hang is on stderr, though the run never reached its summary
    assert "::test_fails_then_its_teardown_hangs failed (call)" in run.stderr, run.stderr
    assert "a failure before the hang" in run.stderr
    assert "short test summary" not in run.stdout
    assert took < 60, took
