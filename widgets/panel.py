"""The base of every signal panel: title, stale/waiting states, compact one-line mode.

Panels draw in ``render()`` from a reactive ``data`` that does not force a layout
pass: a new sample repaints the panel and nothing else. Their height is fixed
by CSS so the screen never reflows on data.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from widgets.data import PanelData
from widgets.fmt import clock, duration

OK, BAD, WAIT, STALE, NODATA = "✔", "✘", "…", "⚠", "∅"
NL = Content("\n")


class SignalPanel(Widget):
    """A panel drawing one signal. Subclasses implement ``body`` and ``summary``."""

    DEFAULT_CSS = """
    SignalPanel {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        padding: 0 1;
        height: 5;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    SignalPanel.-stale { border: round $warning; }
    SignalPanel.-failing { border: round $error; }
    SignalPanel.-compact { border: none; padding: 0 1; height: 1; }
    """

    data: reactive[PanelData | None] = reactive(None, layout=False)
    compact: reactive[bool] = reactive(False, layout=True)

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self.title = title

    def watch_data(self, data: PanelData | None) -> None:
        stale = data is not None and data.stale_since is not None
        self.set_class(stale, "-stale")
        self.set_class(not stale and self.state_symbol(data) == BAD, "-failing")

    def watch_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")

    def state_symbol(self, data: PanelData | None) -> str:
        """✔ all series hold the threshold, ✘ one does not, … waiting, ⚠ stale."""
        if data is None or data.waiting:
            return WAIT
        if data.stale_since is not None:
            return STALE
        if data.no_data:
            return NODATA
        verdicts = [data.holds(v) for v in data.latest().values()]
        if any(v is False for v in verdicts):
            return BAD
        return OK if verdicts and all(v for v in verdicts) else ""

    def status_line(self, data: PanelData | None) -> Content | None:
        """``waiting for first sample``, ``stale 42s (reason)`` or ``no data``; None when fresh."""
        if data is None or data.waiting:
            return Content.styled("… waiting for first sample", "italic $text-muted")
        if data.stale_since is not None:
            return Content.styled(f"⚠ {stale_text(data)}", "bold $warning")
        if data.no_data:
            return Content.styled("∅ no data (the query returned no series)", "bold $warning")
        return None

    def render(self) -> Content:
        data = self.data
        if self.compact:
            return self.compact_line(data)
        status = self.status_line(data)
        if data is None or data.waiting:
            return status or Content("")
        if data.no_data and data.stale_since is None:
            return status or Content("")  # never the last value beside a live "no data"
        width, height = self.content_size.width, self.content_size.height
        body = self.body(data, width, max(1, height - (1 if status else 0)))
        return NL.join([status, *body]) if status is not None else NL.join(body)

    def compact_line(self, data: PanelData | None) -> Content:
        """The whole panel as one line (small terminals)."""
        symbol = self.state_symbol(data)
        parts: list[str | tuple[str, str]] = [(f"{symbol or '·'} ", symbol_style(symbol)), (f"{self.title}: ", "bold")]
        if data is None or data.waiting:
            parts.append(("waiting for first sample", "italic $text-muted"))
        else:
            if data.stale_since is not None:
                parts.append((stale_text(data, reason=False) + "  ", "bold $warning"))
            elif data.no_data:
                parts.append(("no data", "bold $warning"))
                return Content.assemble(*parts)
            parts.append(self.summary(data))
        return Content.assemble(*parts)

    def body(self, data: PanelData, width: int, height: int) -> list[Content]:
        """The panel's lines below the status line."""
        raise NotImplementedError

    def summary(self, data: PanelData) -> str:
        """The current values in a few words, for the compact line."""
        raise NotImplementedError


def stale_text(data: PanelData, reason: bool = True) -> str:
    """``stale 42s (reason)``: how old the data shown is; ``stale since HH:MM:SS`` when that is unknown."""
    age = data.age if data.age is not None else (data.now - data.last_ok if data.last_ok is not None else None)
    head = f"stale {duration(max(0.0, age))}" if age is not None else f"stale since {clock(data.stale_since or data.now)}"
    return head + (f" ({data.stale_reason})" if reason and data.stale_reason else "")


def symbol_style(symbol: str) -> str:
    return {OK: "bold $success", BAD: "bold $error", STALE: "bold $warning", NODATA: "bold $warning"}.get(
        symbol, "$text-muted")


def verdict(data: PanelData, value: float) -> tuple[str, str]:
    """(symbol, style) for one value against the panel's threshold; never ✔ on stale data."""
    if data.stale_since is not None:
        return STALE, "$warning"
    held = data.holds(value)
    if held is None:
        return " ", ""
    return (OK, "$success") if held else (BAD, "bold $error")
