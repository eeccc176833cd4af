"""The checklist: runbook steps by phase (key, state, progress) and the validation checks."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from widgets.data import CheckRow, StepRow
from widgets.fmt import duration, mmss

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


class Checklist(Widget):
    """Steps grouped by runbook phase, then the checks under *validate*."""

    DEFAULT_CSS = """
    Checklist {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    steps: reactive[tuple[StepRow, ...]] = reactive((), layout=False, always_update=True)
    checks: reactive[tuple[CheckRow, ...]] = reactive((), layout=False, always_update=True)
    now: reactive[float] = reactive(0.0, layout=False)
    read_only: reactive[bool] = reactive(False, layout=False)

    def lines(self) -> list[Content]:
        """Every line of the checklist (also what tests read)."""
        out: list[Content] = []
        for phase in PHASES:
            steps = [s for s in self.steps if s.phase == phase]
            checks = list(self.checks) if phase == "validate" else []
            if not steps and not checks:
                continue
            done = sum(1 for s in steps if s.state == "ok") + sum(1 for c in checks if c.status == "ok")
            out.append(
                Content.assemble((phase.upper(), "bold $secondary"), (f"  {done}/{len(steps) + len(checks)}", "$text-muted"))
            )
            out.extend(self.step_line(s) for s in steps)
            if checks:
                out.append(Content.styled("  checks", "italic $text-muted"))
                out.extend(self.check_line(c) for c in checks)
        return out

    def step_line(self, step: StepRow) -> Content:
        symbol, style = STEP_SYMBOLS.get(step.state, ("?", "bold"))
        key = f"[{step.key}]" if step.key else "   "
        key_style = "$text-disabled" if self.read_only else "bold $accent"
        return Content.assemble(
            "  ",
            (key.ljust(5), key_style),
            (symbol, style),
            " ",
            (step.title, "bold" if step.state == "running" else ""),
            "  ",
            (self.progress(step), style),
            (f"  {step.detail}" if step.detail else "", "$text-muted"),
        )

    def progress(self, step: StepRow) -> str:
        if step.state == "idle":
            return "manual" if step.kind == "manual" else ""
        hosts = f" {step.hosts_done}/{step.hosts_total} hosts" if step.hosts_total else ""
        if step.state == "running":
            elapsed = duration(self.now - step.started) if step.started is not None else ""
            return f"running {elapsed}{hosts}"
        took = ""
        if step.started is not None and step.ended is not None:
            took = f" in {duration(step.ended - step.started)}"
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

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self.lines()))

    def render(self) -> Content:
        lines = self.lines()
        return Content("\n").join(lines) if lines else Content.styled("no steps in this profile", "$text-muted")


def step_rows(rows: Sequence[StepRow], step_id: str) -> StepRow | None:
    """The row of ``step_id`` (None when unknown)."""
    return next((r for r in rows if r.step_id == step_id), None)
