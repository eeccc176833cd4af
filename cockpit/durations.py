"""Durations as written in profiles: "500ms", "5s", "15m", "1h30m", "2h"."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(text: str) -> float:
    """Return seconds for a duration such as ``"90s"``, ``"15m"`` or ``"1h30m"``.

    A bare number is refused: a unit is required so "5" is never read as
    5 minutes by one person and 5 seconds by another.
    """
    if not isinstance(text, str):
        raise DurationError(f"expected a duration string like \"30s\" or \"15m\", got {text!r}")
    s = text.strip().lower()
    if not s:
        raise DurationError("empty duration")
    pos = 0
    total = 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise DurationError(
            f"bad duration {text!r}: use a number and a unit (ms, s, m, h), e.g. \"30s\", \"15m\", \"1h30m\""
        )
    if total <= 0:
        raise DurationError(f"duration {text!r} must be greater than zero")
    return total


def format_duration(seconds: float) -> str:
    """Compact human form used on screen and in reports: ``"4m07s"``, ``"12s"``, ``"1h02m"``."""
    neg = seconds < 0
    s = int(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        out = f"{h}h{m:02d}m"
    elif m:
        out = f"{m}m{sec:02d}s"
    elif abs(seconds) < 10 and abs(seconds) != s:
        out = f"{abs(seconds):.1f}s"
    else:
        out = f"{sec}s"
    return f"-{out}" if neg else out
