"""/healthz history: one cell per probe, readable without colour."""

from __future__ import annotations

import math

from textual.content import Content

from widgets.data import PanelData
from widgets.panel import SignalPanel

OK_CELL = "█"


def cell(status: float) -> tuple[str, str]:
    """(character, style): █ 200, 5 for 5xx, 4 for 4xx, 3 for 3xx, ? timeout/error/garbage."""
    if math.isnan(status) or status <= 0 or not float(status).is_integer():
        return "?", "bold $warning"
    code = int(status)
    if code == 200:
        return OK_CELL, "$success"
    if 100 <= code <= 599:
        return str(code // 100), "bold $error"
    return "?", "bold $warning"


def consecutive_ok(statuses: list[float]) -> int:
    n = 0
    for s in reversed(statuses):
        if s != 200:
            break
        n += 1
    return n


class HistoryPanel(SignalPanel):
    """Cells for the last probes, the last status, latency and consecutive successes."""

    DEFAULT_CSS = """
    HistoryPanel { height: 5; }
    """

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        lines: list[Content] = []
        for label in sorted(data.series)[: max(1, height - 1)]:
            statuses = [v for _, v in data.series[label]]
            prefix = f"{label} " if label else ""
            cells = statuses[-max(1, width - len(prefix)) :]
            lines.append(Content.assemble(prefix, *(cell(s) for s in cells)))
        lines.append(Content.styled(self.summary(data), "$text-muted"))
        return lines

    def summary(self, data: PanelData) -> str:
        parts = []
        for label in sorted(data.series):
            statuses = [v for _, v in data.series[label]]
            if not statuses:
                continue
            last = statuses[-1]
            shown = str(int(last)) if not math.isnan(last) and last > 0 and float(last).is_integer() else "error"
            prefix = f"{label}: " if label else ""
            parts.append(f"{prefix}last {shown}, {consecutive_ok(statuses)} ok in a row")
        parts.extend(data.notes)
        if data.condition:
            parts.append(f"want {data.condition}")
        return " · ".join(parts)
