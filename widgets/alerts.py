"""The active alerts of an alertmanager signal: what still pages, and what a silence covers.

Renders plain values only: each series is an alert (label), its value 1 when it pages and
0 when a silence or an inhibition covers it (see `cockpit.sources.alerts`).
"""

from __future__ import annotations

from textual.content import Content

from widgets.data import PanelData
from widgets.panel import BAD, OK, SignalPanel


def split(data: PanelData) -> tuple[list[str], list[str]]:
    """(paging, silenced) alert names, sorted."""
    latest = data.latest()
    paging = sorted(k for k, v in latest.items() if v >= 1)
    quiet = sorted(k for k, v in latest.items() if v < 1)
    return paging, quiet


class AlertsPanel(SignalPanel):
    """``PAGING`` lines first (red), then ``silenced`` ones (muted)."""

    DEFAULT_CSS = """
    AlertsPanel { height: 4; }
    """

    def state_symbol(self, data: PanelData | None) -> str:
        if data is not None and not data.waiting and data.stale_since is None:
            if data.no_data:
                return OK
            return BAD if split(data)[0] else OK
        return super().state_symbol(data)

    def status_line(self, data: PanelData | None) -> Content | None:
        if data is not None and data.no_data and data.stale_since is None:
            return Content.styled("✔ nothing firing", "bold $success")
        return super().status_line(data)

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        paging, quiet = split(data)
        lines = [Content.assemble(("✘ PAGING   ", "bold $error"), name) for name in paging]
        lines += [Content.assemble(("✔ silenced ", "$text-muted"), (name, "$text-muted")) for name in quiet]
        if not lines:
            return [Content.styled("✔ nothing firing", "bold $success")]
        if len(lines) > height:
            more = len(lines) - height + 1
            lines = [*lines[: height - 1], Content.styled(f"… and {more} more", "$text-muted")]
        return lines

    def summary(self, data: PanelData) -> str:
        paging, quiet = split(data)
        return f"{len(paging)} paging, {len(quiet)} silenced"
