"""5xx rate: a plotext line chart with the threshold and the ``within`` deadline countdown.

plotext is imported lazily (the first screen does not need it) and the chart is
re-rendered only when the data version or the panel size changed, and at most
once every ``min_interval`` seconds for new data (a column of a 15-minute chart
is ~20 s wide: redrawing it on every sample buys nothing). A tick of the
countdown repaints the headline from cache.
"""

from __future__ import annotations

import math
import time

from textual.content import Content

from widgets.data import PanelData
from widgets.fmt import mmss, number
from widgets.panel import SignalPanel, verdict


class LineChartPanel(SignalPanel):
    """A line chart of every series, the threshold as a horizontal line."""

    DEFAULT_CSS = """
    LineChartPanel { height: 11; }
    """
    min_interval = 5.0  # seconds between re-renders for new data (size changes render at once)

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(title, id=id, classes=classes)
        self._chart_key: tuple[int, int, int] | None = None
        self._rendered_at = 0.0
        self._chart_cache: list[Content] = []
        self.renders = 0  # chart renders (tests and the benchmark read it)

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        return [self.headline(data), *self.chart(data, width, height - 1)]

    def headline(self, data: PanelData) -> Content:
        parts: list[str | tuple[str, str]] = []
        for label, value in sorted(data.latest().items()):
            symbol, style = verdict(data, value)
            parts += [f"{label + ' ' if label else ''}now ", (number(value, data.unit, data.scale), style or "bold"), f" {symbol} "]
        if data.condition:
            parts.append((f" threshold {data.condition}", "$text-muted"))
        if data.deadline is not None:
            left = data.deadline - data.now
            parts.append(
                (f"  within: {mmss(left)} left", "bold") if left > 0 else ("  within: deadline passed", "bold $warning")
            )
        return Content.assemble(*parts)

    def chart(self, data: PanelData, width: int, height: int) -> list[Content]:
        if width < 12 or height < 3:
            return []
        key = (data.version, width, height)
        old = self._chart_key
        resized = old is None or old[1:] != key[1:]
        if key != old and (resized or time.monotonic() - self._rendered_at >= self.min_interval):
            self._chart_cache = [Content(line) for line in render_chart(data, width, height).splitlines()]
            self._chart_key = key
            self._rendered_at = time.monotonic()
            self.renders += 1
        return self._chart_cache

    def summary(self, data: PanelData) -> str:
        latest = data.latest()
        text = "  ".join(f"{number(v, data.unit, data.scale)}" for _, v in sorted(latest.items()))
        if data.condition:
            text += f"  ({data.condition})"
        if data.deadline is not None and data.deadline > data.now:
            text += f"  {mmss(data.deadline - data.now)} left"
        return text


def render_chart(data: PanelData, width: int, height: int) -> str:
    """The chart as plain text, drawn in braille (2x4 dots a cell: the terminal's real resolution).

    x: minutes before now; y: the signal's own unit on every tick label. The threshold is a
    horizontal line, on a log scale when the values dwarf it (so it stays visible at any scale);
    step events (``data.markers``) are vertical lines labelled with the step's key.
    """
    import plotext as plt

    newest = max((s[-1][0] for s in data.series.values() if s), default=data.now)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    values: list[float] = []
    oldest = newest
    for _label, samples in sorted(data.series.items()):
        points = [(ts, v * data.scale) for ts, v in samples if math.isfinite(v) and math.isfinite(ts)]
        if points:
            oldest = min(oldest, points[0][0])
            values += [v for _, v in points]
            plt.plot([(ts - newest) / 60 for ts, _ in points], [v for _, v in points], marker="braille")
    threshold = data.threshold * data.scale if data.threshold is not None else None
    top = max([*values, threshold or 0.0, 0.0])
    low = min([*values, threshold if threshold is not None else top])
    log = threshold is not None and threshold > 0 and low > 0 and top > 20 * threshold
    if log:
        plt.yscale("log")
    if threshold is not None:
        plt.hline(threshold)
    for ts, label in data.markers:
        if oldest <= ts <= newest:
            x = (ts - newest) / 60
            plt.vline(x)
            plt.text(label, x, top)
    if values:
        plt.yticks(*_ticks(low if threshold is None else min(low, threshold), top, data.unit, log=log))
    span = max(1.0, (newest - oldest) / 60)
    xs = [-span, -span * 2 / 3, -span / 3, 0.0]
    plt.xticks(xs, [f"{x:.0f}m" if x else "now" for x in xs])
    return str(plt.uncolorize(plt.build()))


def _ticks(low: float, high: float, unit: str, n: int = 3, log: bool = False) -> tuple[list[float], list[str]]:
    """``n`` y ticks from low to high (geometric on a log scale) labelled in the signal's unit."""
    if high <= low:
        high = low + 1.0
    if log:
        ticks = [low * (high / low) ** (i / (n - 1)) for i in range(n)]
    else:
        ticks = [low + (high - low) * i / (n - 1) for i in range(n)]
    return ticks, [number(t, unit) for t in ticks]
