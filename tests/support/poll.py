"""Poll until a condition holds or a deadline passes: the suite's one way to wait (never a bare sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition",
               interval: float = 0.05) -> Any:
    """Call ``predicate()`` until it is truthy (returns it), or fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


async def until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition",
                interval: float = 0.02) -> Any:
    """Like `wait_until`, yielding to the event loop between looks (the cockpit's tasks go on meanwhile)."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
