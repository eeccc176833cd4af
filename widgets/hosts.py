"""Per-host results of one step, for fleets of a thousand hosts and more.

`HostList` is a virtualised list (Textual's line API on a `ScrollView`): only the rows on
screen are drawn, so scrolling 1,000 rows costs what scrolling 30 does, and setting new rows
repaints only when they differ. It renders plain `HostRow` values and nothing else: which
state a host is in, its exit code, duration and last output line are decided by the caller
(`cockpit.tui.present.host_rows`).

The filter (`all`, `failed`, `unreachable`) narrows the rows shown; `counts` gives the number
of hosts per state for the title line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

# the order states are counted and worded in
STATES = ("running", "pending", "ok", "failed", "timeout", "unreachable", "cancelled", "skipped", "refused")
FILTERS = ("all", "failed", "unreachable")
# which states each filter keeps (a timed-out command failed on its host)
FILTER_STATES: dict[str, frozenset[str]] = {
    "all": frozenset(STATES),
    "failed": frozenset({"failed", "timeout"}),
    "unreachable": frozenset({"unreachable"}),
}
STATE_STYLES: dict[str, Style] = {
    "ok": Style(color="green"),
    "failed": Style(color="red", bold=True),
    "timeout": Style(color="red", bold=True),
    "unreachable": Style(color="magenta", bold=True),
    "running": Style(color="cyan", bold=True),
    "pending": Style(dim=True),
    "skipped": Style(dim=True),
    "cancelled": Style(color="yellow"),
    "refused": Style(color="yellow"),
}
MUTED = Style(dim=True)
HOST_WIDTH_MAX = 32


@dataclass(frozen=True)
class HostRow:
    """One host of one step run, as drawn."""

    host: str
    state: str                 # one of STATES
    exit_code: int | None = None
    duration: float | None = None
    last_line: str = ""


def next_filter(current: str) -> str:
    return FILTERS[(FILTERS.index(current) + 1) % len(FILTERS)] if current in FILTERS else FILTERS[0]


def counts(rows: Iterable[HostRow]) -> dict[str, int]:
    """Hosts per state, in STATES order, states with no host left out."""
    c = Counter(r.state for r in rows)
    return {s: c[s] for s in (*STATES, *sorted(set(c) - set(STATES))) if c[s]}


def counts_text(rows: Sequence[HostRow]) -> str:
    """``1000 hosts: 990 ok · 6 failed · 4 unreachable``."""
    parts = " · ".join(f"{n} {state}" for state, n in counts(rows).items())
    return f"{len(rows)} host{'s' if len(rows) != 1 else ''}" + (f": {parts}" if parts else "")


def filtered(rows: Sequence[HostRow], which: str) -> tuple[HostRow, ...]:
    keep = FILTER_STATES.get(which)
    if keep is None or which == "all":
        return tuple(rows)
    return tuple(r for r in rows if r.state in keep)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def header_text(host_width: int) -> str:
    return f"{'host':<{host_width}} {'state':<11} {'exit':>4} {'time':>7}  last output"


class HostList(ScrollView, can_focus=True):
    """The hosts of one step, one line each; ↑↓ PgUp PgDn Home End scroll (ScrollView's bindings)."""

    DEFAULT_CSS = """
    HostList { height: 1fr; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: tuple[HostRow, ...] = ()
        self.filter = "all"
        self.shown: tuple[HostRow, ...] = ()
        self.host_width = 8
        self.renders = 0   # lines drawn so far (the bench reads it: only visible lines are drawn)

    # a list of 1,000 rows moves at once: no scroll animation to wait for
    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False)

    def set_rows(self, rows: Sequence[HostRow]) -> bool:
        """New rows; False (nothing repainted) when they equal the ones shown."""
        new = tuple(rows)
        if new == self.rows:
            return False
        self.rows = new
        self.host_width = max(4, min(HOST_WIDTH_MAX, max((len(r.host) for r in new), default=4)))
        self._apply()
        return True

    def set_filter(self, which: str) -> None:
        self.filter = which if which in FILTERS else "all"
        self._apply()
        self.scroll_home(animate=False)

    def _apply(self) -> None:
        self.shown = filtered(self.rows, self.filter)
        width = self.host_width + 1 + 11 + 1 + 4 + 1 + 7 + 2 + max((len(r.last_line) for r in self.shown), default=0)
        self.virtual_size = Size(width, len(self.shown))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.shown):
            return Strip.blank(width, self.rich_style)
        self.renders += 1
        row = self.shown[index]
        base = self.rich_style
        host = row.host if len(row.host) <= self.host_width else row.host[: self.host_width - 1] + "…"
        exit_code = "" if row.exit_code is None else str(row.exit_code)
        segments = [
            Segment(f"{host:<{self.host_width}} ", base + Style(bold=True)),
            Segment(f"{row.state:<11} ", base + STATE_STYLES.get(row.state, MUTED)),
            Segment(f"{exit_code:>4} ", base),
            Segment(f"{_duration(row.duration):>7}  ", base + MUTED),
            Segment(row.last_line, base),
        ]
        strip = Strip(segments)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)
