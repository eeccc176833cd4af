"""The checklist: runbook steps by phase (key, state, progress) and the validation checks.

It has a cursor: the arrows, PgUp/PgDn, Home/End move it over the steps and checks,
Enter asks the app to act on the row (``Checklist.Selected``), Space to show its detail
(``Checklist.Detail``). The state column comes before the title and is as wide as the
widest state, so a state word is never cut; a long title is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from widgets.data import CheckRow, StepRow
from widgets.fmt import mmss, short_duration

PHASES = ("prepare", "rollback", "validate", "communicate", "post-rollback")

STEP_SYMBOLS = {
    "idle": ("○", "$text-muted"),
    "running": ("▶", "bold $accent"),
    "ok": ("✔", "bold $success"),
    "failed": ("✘", "bold $error"),
    "partial": ("◐", "bold $warning"),
    "cancelled": ("■", "bold $warning"),
    "refused": ("⊘", "bold $warning"),
}
CHECK_SYMBOLS = {
    "ok": ("✔", "bold $success"),
    "failing": ("✘", "bold $error"),
    "unknown": ("?", "bold $warning"),
    "pending": ("…", "$text-muted"),
    "missed": ("⌛", "bold $error"),
}
UNSEEN = "!"  # a failed step whose detail has not been opened yet
NEXT = "›"    # the runbook's next step
STATE_MAX = 22


class Checklist(Widget, can_focus=True):
    """Steps grouped by runbook phase, then the checks under *validate*; a cursor over both."""

    DEFAULT_CSS = """
    Checklist {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("down", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Fire/open", id="select"),
        Binding("space", "detail", "Detail", id="toggle"),
    ]

    class Selected(Message):
        """Enter on a row: ``kind`` is "step" or "check"."""

        def __init__(self, kind: str, row_id: str) -> None:
            super().__init__()
            self.kind, self.row_id = kind, row_id

    class Detail(Message):
        """Space on a row: show its detail."""

        def __init__(self, kind: str, row_id: str) -> None:
            super().__init__()
            self.kind, self.row_id = kind, row_id

    steps: reactive[tuple[StepRow, ...]] = reactive((), layout=True)
    checks: reactive[tuple[CheckRow, ...]] = reactive((), layout=True)
    now: reactive[float] = reactive(0.0, layout=False)
    read_only: reactive[bool] = reactive(False, layout=False)
    cursor: reactive[int] = reactive(0, layout=False)

    # -- rows ---------------------------------------------------------------------------------
    def _layout(self) -> tuple[list[Content], list[tuple[str, str, int]]]:
        """(lines, selectable rows as (kind, id, line index))."""
        out: list[Content] = []
        rows: list[tuple[str, str, int]] = []
        width = self.state_width()
        for phase in PHASES:
            steps = [s for s in self.steps if s.phase == phase]
            checks = list(self.checks) if phase == "validate" else []
            if not steps and not checks:
                continue
            done = sum(1 for s in steps if s.state == "ok") + sum(1 for c in checks if c.status == "ok")
            out.append(
                Content.assemble((phase.upper(), "bold $secondary"), (f"  {done}/{len(steps) + len(checks)}", "$text-muted"))
            )
            for s in steps:
                rows.append(("step", s.step_id, len(out)))
                out.append(self.step_line(s, width))
            if checks:
                out.append(Content.styled("  checks", "italic $text-muted"))
                for c in checks:
                    rows.append(("check", c.check_id, len(out)))
                    out.append(self.check_line(c))
        return out, rows

    def rows(self) -> list[tuple[str, str]]:
        """The selectable rows in screen order: ("step", id) and ("check", id)."""
        return [(k, i) for k, i, _ in self._layout()[1]]

    def lines(self) -> list[Content]:
        """Every line of the checklist, without the cursor (also what tests read)."""
        return self._layout()[0]

    def current(self) -> tuple[str, str] | None:
        rows = self.rows()
        return rows[min(self.cursor, len(rows) - 1)] if rows else None

    def move_to(self, kind: str, row_id: str) -> bool:
        """Put the cursor on a row; False when there is no such row."""
        rows = self.rows()
        if (kind, row_id) not in rows:
            return False
        self.cursor = rows.index((kind, row_id))
        return True

    def state_width(self) -> int:
        return min(STATE_MAX, max((len(self.progress(s)) for s in self.steps), default=0))

    def step_line(self, step: StepRow, width: int | None = None) -> Content:
        symbol, style = STEP_SYMBOLS.get(step.state, ("?", "bold"))
        width = self.state_width() if width is None else width
        key = f"[{step.key}]" if step.key else "   "
        key_style = "$text-disabled" if self.read_only else "bold $accent"
        marker = (UNSEEN, "bold reverse $error") if step.unseen else ((NEXT, "bold $accent") if step.next else " ")
        title_style = "bold" if step.state == "running" or step.next else ""
        return Content.assemble(
            marker,
            " ",
            (key.ljust(5), key_style),
            (symbol, style),
            " ",
            (self.progress(step)[:STATE_MAX].ljust(width), style),
            " ",
            (step.title, title_style),
            (f"  {step.detail}" if step.detail else "", "$text-muted"),
        )

    def progress(self, step: StepRow) -> str:
        """``ok 0.7s 10/10``, ``running 12s 3/10``, ``failed 2.1s 0/1``: short by design, never cut."""
        if step.state == "idle":
            return "manual" if step.ticked else "-"
        hosts = f" {step.hosts_done}/{step.hosts_total}" if step.hosts_total else ""
        if step.state == "running":
            elapsed = f" {short_duration(self.now - step.started)}" if step.started is not None and self.now else ""
            return f"running{elapsed}{hosts}"
        if step.ticked and step.state == "ok":
            return "ticked"
        took = ""
        if step.started is not None and step.ended is not None:
            took = f" {short_duration(step.ended - step.started)}"
        return f"{step.state}{took}{hosts}"

    def check_line(self, check: CheckRow) -> Content:
        symbol, style = CHECK_SYMBOLS.get(check.status, ("?", "bold"))
        tail = []
        if check.values:
            tail.append(check.values)
        if check.reason:
            tail.append(check.reason)
        if check.deadline is not None and check.status not in ("ok", "missed") and check.deadline > self.now:
            tail.append(f"{mmss(check.deadline - self.now)} left")
        return Content.assemble(
            "       ",
            (symbol, style),
            " ",
            check.title,
            ("  " + " · ".join(tail) if tail else "", "$text-muted"),
        )

    # -- keys ---------------------------------------------------------------------------------
    def _clamp(self, index: int) -> None:
        n = len(self.rows())
        self.cursor = max(0, min(n - 1, index)) if n else 0

    def action_cursor_up(self) -> None:
        self._clamp(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._clamp(self.cursor + 1)

    def action_page(self, direction: int) -> None:
        height = self.parent.size.height if isinstance(self.parent, Widget) else self.size.height
        self._clamp(self.cursor + direction * max(1, height - 2))

    def action_first(self) -> None:
        self._clamp(0)

    def action_last(self) -> None:
        self._clamp(len(self.rows()) - 1)

    def action_select(self) -> None:
        row = self.current()
        if row is not None:
            self.post_message(self.Selected(*row))

    def action_detail(self) -> None:
        row = self.current()
        if row is not None:
            self.post_message(self.Detail(*row))

    def watch_cursor(self) -> None:
        self.call_after_refresh(self.scroll_cursor_visible)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def scroll_cursor_visible(self) -> None:
        """Scroll the container so the cursor's line (and its phase title above) is on screen."""
        layout = self._layout()[1]
        if not layout or not isinstance(self.parent, Widget):
            return
        line = layout[min(self.cursor, len(layout) - 1)][2]
        top = self.virtual_region.y + line
        self.parent.scroll_to_region(Region(0, max(0, top - 1), 1, 3), animate=False, immediate=True)

    # -- drawing ------------------------------------------------------------------------------
    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self.lines()))

    def render(self) -> Content:
        lines, rows = self._layout()
        if not lines:
            return Content.styled("no steps in this profile", "$text-muted")
        if rows:
            at = rows[min(self.cursor, len(rows) - 1)][2]
            style = "reverse" if self.has_focus else "underline"
            lines[at] = lines[at].stylize(style)
        return Content("\n").join(lines)


def step_rows(rows: Sequence[StepRow], step_id: str) -> StepRow | None:
    """The row of ``step_id`` (None when unknown)."""
    return next((r for r in rows if r.step_id == step_id), None)
