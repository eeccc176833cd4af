"""A single value (e.g. ingestion lag): current value, threshold and trend."""

from __future__ import annotations

from textual.content import Content

from widgets.data import PanelData
from widgets.fmt import number, sparkline
from widgets.panel import SignalPanel, verdict


def trend(values: list[float]) -> str:
    """↑ rising, ↓ falling, → flat, over the last few samples."""
    if len(values) < 2:
        return "→"
    recent = values[-5:]
    delta = recent[-1] - recent[0]
    span = max(abs(v) for v in recent) or 1.0
    if abs(delta) < span * 0.05:
        return "→"
    return "↑" if delta > 0 else "↓"


class ValuePanel(SignalPanel):
    """Current value with its verdict, the threshold, a trend arrow and a sparkline."""

    DEFAULT_CSS = """
    ValuePanel { height: 4; }
    """

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        lines = []
        for label, samples in sorted(data.series.items()):
            if not samples:
                continue
            values = [v for _, v in samples]
            value = values[-1]
            symbol, style = verdict(data, value)
            head = Content.assemble(
                (f"{label} " if label else ""),
                (number(value, data.unit, data.scale), style or "bold"),
                f" {symbol} {trend(values)}",
                (f"  ({data.condition})" if data.condition else "", "$text-muted"),
                "  ",
            )
            spark = sparkline(values, max(0, width - head.cell_length))
            lines.append(Content.assemble(head, (spark, "$accent")))
        return lines[:height] or [Content("")]

    def summary(self, data: PanelData) -> str:
        parts = []
        for label, samples in sorted(data.series.items()):
            if samples:
                values = [v for _, v in samples]
                parts.append(f"{label + ' ' if label else ''}{number(values[-1], data.unit, data.scale)} {trend(values)}")
        return "  ".join(parts) + (f"  ({data.condition})" if data.condition else "")
