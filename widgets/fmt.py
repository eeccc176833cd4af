"""Small formatting helpers shared by the widgets (numbers, clocks, sparklines)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def clock(ts: float) -> str:
    """Local wall-clock time ``HH:MM:SS``."""
    return time.strftime("%H:%M:%S", time.localtime(ts))


def duration(seconds: float) -> str:
    """``4m07s`` / ``12s`` / ``1h02m`` (same shape as cockpit.durations.format_duration)."""
    s = int(abs(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = f"{h}h{m:02d}m" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")
    return f"-{out}" if seconds < 0 else out


def short_duration(seconds: float) -> str:
    """``0.7s`` / ``12s`` / ``4m07s``: tenths below ten seconds (a step's time), else as ``duration``."""
    if 0 <= seconds < 9.95:
        return f"{seconds:.1f}s"
    return duration(seconds)


def mmss(seconds: float) -> str:
    """``MM:SS`` for clocks (``-`` prefix when negative)."""
    s = int(abs(seconds))
    out = f"{s // 60:02d}:{s % 60:02d}"
    return f"-{out}" if seconds < 0 else out


def number(value: float, unit: str = "", scale: float = 1.0) -> str:
    """A value for display: scaled, short, with its unit."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    v = value * scale
    if v == 0 or abs(v) >= 100 or float(v).is_integer():
        text = f"{v:.0f}"
    elif abs(v) >= 1:
        text = f"{v:.1f}"
    else:
        text = f"{v:.3g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%", "s", "ms") else f"{text} {unit}"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters scaled to their own min..max."""
    vals = [v for v in values if math.isfinite(v)][-width:] if width > 0 else []
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return BLOCKS[0 if hi == 0 else 3] * len(vals)
    span = hi - lo
    return "".join(BLOCKS[min(7, int((v - lo) / span * 7 + 0.5))] for v in vals)
