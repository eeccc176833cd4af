"""Horizon queue depth: one bar per queue, the threshold marked, a trend sparkline, worker scale."""

from __future__ import annotations

import math

from textual.content import Content

from widgets.data import PanelData
from widgets.fmt import number, sparkline
from widgets.panel import SignalPanel, verdict

MARK = "┃"
LOG_FROM = 8.0  # bars switch to a log scale when the deepest queue is this many times the threshold


class QueuePanel(SignalPanel):
    """Bars per series (e.g. feed, notifications, search-index) against the threshold."""

    DEFAULT_CSS = """
    QueuePanel { height: 6; }
    """

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        labels = sorted(data.series)
        latest = data.latest()
        name_w = min(14, max((len(lb) for lb in labels), default=4))
        lines: list[Content] = []
        top = max([*(v for v in latest.values() if math.isfinite(v)), (data.threshold or 0) * 1.25, 1.0])
        # depths far above the threshold: a log scale keeps the threshold mark inside the bar
        log = data.threshold is not None and data.threshold > 0 and top > LOG_FROM * data.threshold
        for label in labels[:height]:
            value = latest.get(label)
            if value is None:
                continue
            values = [v for _, v in data.series[label]]
            symbol, style = verdict(data, value)
            workers = _workers(data, label)
            value_s = number(value, "", data.scale).rjust(5)
            fixed = name_w + 1 + 1 + len(value_s) + 2 + 8 + 1 + len(workers) + 2
            bar_w = max(4, width - fixed)
            lines.append(
                Content.assemble(
                    (label[:name_w].ljust(name_w), "bold"),
                    " ",
                    *_bar(value, data.threshold, top, bar_w, style, log=log),
                    " ",
                    (value_s, style or "bold"),
                    " ",
                    (symbol, style),
                    " ",
                    (sparkline(values, 8).ljust(8), "$accent"),
                    " ",
                    (workers, "$text-muted"),
                )
            )
        if data.condition and len(lines) < height:
            scale = ", log scale" if log else ""
            lines.append(Content.styled(f"threshold {data.condition} on every queue ({MARK}{scale})", "$text-muted"))
        return lines

    def summary(self, data: PanelData) -> str:
        latest = data.latest()
        return "  ".join(f"{lb} {number(latest[lb], '', data.scale)}" for lb in sorted(latest)) + (
            f"  ({data.condition})" if data.condition else ""
        )


def _workers(data: PanelData, label: str) -> str:
    expected = data.expected_workers.get(label)
    current = data.workers.get(label)
    if expected is None and current is None:
        return ""
    cur = "?" if current is None else number(current)
    exp = "?" if expected is None else number(expected)
    return f"w {cur}/{exp}"


def _bar(value: float, threshold: float | None, top: float, width: int, style: str, *,
         log: bool = False) -> list[tuple[str, str]]:
    if log:
        return _bar(math.log1p(max(0.0, value)) if math.isfinite(value) else value,
                    math.log1p(threshold) if threshold is not None else None, math.log1p(top), width, style)
    ratio = value / top if top > 0 and not math.isnan(value) else 0.0
    filled = width if ratio == math.inf else max(0, min(width, round(ratio * width))) if math.isfinite(ratio) else 0
    mark = None if threshold is None else min(width - 1, round(threshold / top * width))
    cells = ["█" if i < filled else "░" for i in range(width)]
    if mark is not None and mark >= 0:
        cells[mark] = MARK
    text = "".join(cells)
    if mark is None:
        return [(text, style or "$primary")]
    return [(text[:mark], style or "$primary"), (text[mark], "bold $warning"), (text[mark + 1 :], style or "$primary")]
