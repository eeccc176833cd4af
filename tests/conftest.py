"""Suite-wide settings. Fixtures for real services live in tests/support/ and per-area conftest files."""

from __future__ import annotations

import contextlib
import faulthandler
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# pytest-timeout (300 s, pyproject.toml) fails a slow test by raising in the main thread. That
# cannot end every hang: raised while a background asyncio task runs, the exception is kept by
# that task and the test goes on waiting; a thread blocked in C is not reached at all. This
# watchdog is the backstop: a test's setup, call or teardown still running after WATCHDOG
# seconds gets every thread's stack printed on the real stderr and the run ends (exit 1),
# instead of CI waiting silently for its own limit.
WATCHDOG = float(os.environ.get("COCKPIT_TEST_WATCHDOG", "480"))
_TERMINAL: dict[str, int] = {}      # "stderr": the terminal's stderr, saved before any test captures it


def pytest_configure(config: pytest.Config) -> None:
    _TERMINAL.setdefault("stderr", os.dup(2))    # capture is suspended here: the terminal's, not a test's


@contextlib.contextmanager
def _watched() -> Iterator[None]:
    if "stderr" in _TERMINAL:
        faulthandler.dump_traceback_later(WATCHDOG, exit=True, file=_TERMINAL["stderr"])
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# Armed per phase: a failure makes pytest (its faulthandler plugin) and pytest-timeout cancel their
# timers, so the teardown after a failed test, where CI once hung, must be armed on its own.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _watched():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _watched():
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    with _watched():
        yield


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A failure is printed on the real stderr as it happens, not only in the summary at the end: a run
    the watchdog has to end never reaches its summary, and the failure before a hang is often its cause."""
    if "stderr" not in _TERMINAL or not report.failed:
        return
    parts = [f"\n==== {report.nodeid} failed ({report.when}) ====\n", report.longreprtext[-20_000:]]
    parts += [f"\n---- {title} ----\n{text[-5_000:]}" for title, text in report.sections if text.strip()]
    os.write(_TERMINAL["stderr"], ("".join(parts) + "\n").encode(errors="replace"))


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own XDG state and cache dirs, so journals, locks and cached inventories never
    leak between tests."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
