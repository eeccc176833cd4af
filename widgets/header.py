"""The header: profile, environment, driver/read-only badge, lock holder and the RTO clock."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from widgets.data import HeaderInfo
from widgets.fmt import mmss


def rto_text(info: HeaderInfo) -> tuple[str, str]:
    """(text, style) of the RTO clock: warning from 80 % of the budget, error from 100 %."""
    if info.rollback_started is None:
        return f"RTO not started — starts with {info.start_hint or info.start_key}", "$text-muted"
    end = info.rollback_ended if info.rollback_ended is not None else info.now
    elapsed = max(0.0, end - info.rollback_started)
    text = f"RTO {mmss(elapsed)} / {mmss(info.rto_budget)}"
    if info.rollback_ended is not None:
        text += " (ended)"
    if elapsed >= info.rto_budget:
        return text + " OVER", "bold reverse $error"
    if elapsed >= 0.8 * info.rto_budget:
        return text + " !", "bold $warning"
    return text, "bold $success"


class CockpitHeader(Widget):
    """Two lines: who and where on the first, the RTO clock and notes on the second."""

    DEFAULT_CSS = """
    CockpitHeader {
        height: 2;
        background: $panel;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    info: reactive[HeaderInfo | None] = reactive(None, layout=False)

    def render(self) -> Content:
        info = self.info
        if info is None:
            return Content("cockpit")
        env = info.environment
        env_style = "bold reverse $error" if env.lower() in ("production", "prod") else "bold $primary"
        badge = (" READ-ONLY ", "bold reverse $secondary") if info.read_only else (" DRIVER ", "bold reverse $success")
        lock = f"  lock: {info.lock_holder}" if info.lock_holder else "  lock: free"
        if info.lock_scope:
            lock = f"  lock: {info.lock_scope}, {info.lock_holder or 'free'}"
        first = Content.assemble(
            (info.name, "bold"),
            "  ",
            (f" {env} ", env_style),
            "  ",
            badge,
            f" {info.user_host}",
            (f"  {info.connections}" if info.connections else "", "$text-muted"),
        )
        rto, style = rto_text(info)
        second = Content.assemble(
            (f" {info.alert} " if info.alert else "", "bold reverse $error"),
            (" " if info.alert else "", ""),
            (rto, style),
            (lock, "$text-muted"),   # before the note: who drives must never be cut off
            (f"  {'⚠ ' if info.forecast_late else ''}{info.forecast}" if info.forecast else "",
             "bold $warning" if info.forecast_late else "$text-muted"),
            (f"   {info.note}" if info.note else "", "italic $text-muted"),
        )
        return Content("\n").join([first, second])
