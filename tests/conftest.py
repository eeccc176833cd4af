"""Suite-wide settings. Fixtures for real services live in tests/support/ and per-area conftest files."""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# pytest-timeout (300 s, pyproject.toml) fails a slow test by raising in the main thread. That
# cannot end every hang: raised while a background asyncio task runs, the exception is kept by
# that task and the test goes on waiting. This watchdog is the backstop: a test (setup, call and
# teardown) still running after WATCHDOG seconds gets every thread's stack printed on the real
# stderr and the run ends (exit 1), instead of CI waiting silently for its own limit.
WATCHDOG = float(os.environ.get("COCKPIT_TEST_WATCHDOG", "480"))
_STDERR = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STDERR] = os.dup(2)    # capture is suspended here: the terminal's stderr, not a test's


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    fd = item.config.stash.get(_STDERR, None)
    if fd is not None:
        faulthandler.dump_traceback_later(WATCHDOG, exit=True, file=fd)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own XDG state and cache dirs, so journals, locks and cached inventories never
    leak between tests."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
