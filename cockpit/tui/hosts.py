"""The per-host view of one step (`ctrl+o` on a step row): every host's state, exit code,
duration and last output line, with a filter (all / failed / unreachable) and counts.

Built for 1,000 hosts: `widgets.hosts.HostList` draws only the visible rows, and the rows
are rebuilt from the feed at most four times a second while the view is open (a step that
finishes 1,000 hosts in a second repaints the view a handful of times, not 1,000 times).
`host_rows` is the presentation rule (pure); the screen only asks for rows and shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, Static

from cockpit.escape import terminal
from cockpit.kinds import step_kind
from cockpit.profile.model import Profile, StepSpec
from cockpit.session import Session
from cockpit.tui.modal import Modal
from cockpit.tui.screens import MODAL_CSS
from widgets.hosts import FILTERS, HostList, HostRow, counts_text, header_text, next_filter

RELOAD = 0.25   # seconds between rebuilds of the rows while the view is open
LAST_LINE_MAX = 240   # characters of a host's last output line kept for the view


def _last(tail: Any) -> str:
    if isinstance(tail, list | tuple) and tail:
        return str(tail[-1])
    return ""


def _line(text: str) -> str:
    return terminal(text)[:LAST_LINE_MAX]


def step_targets(profile: Profile, step: StepSpec) -> tuple[str, ...]:
    """The hosts a step would run on (``once``: the whole group; it picks one at run time)."""
    if step_kind(step.kind).runs_on != "hosts" or not step.hosts:
        return ()
    return tuple(profile.hosts.get(step.hosts, ()))


def host_rows(profile: Profile, step: StepSpec, session: Session | None, live: Any | None, *,
              last_lines: Mapping[str, str], now: float) -> tuple[HostRow, ...]:
    """One row per host of the step's running or last run (never run: every host ``pending``).

    Running (``live``, a `cockpit.controller.RunningStep`): a host with a result shows it; a
    host of the batch that is out (``live.active``, every host when the step is not batched)
    is ``running`` since the batch started; the others are ``pending``. The last output
    line is the last streamed one, else the result's tail, else its error.
    """
    if live is not None:
        done: Mapping[str, Any] = getattr(live, "done", {}) or {}
        targets = tuple(getattr(live, "hosts", ()) or step_targets(profile, step))
        active = getattr(live, "active", None)
        since = float(getattr(live, "active_since", None) or getattr(live, "started", None) or now)
        rows = []
        for host in targets:
            r = done.get(host)
            if r is not None:
                line = last_lines.get(host) or _last(r.tail) or (r.error or "")
                rows.append(HostRow(host, r.state, r.exit_status, r.duration, _line(line)))
            elif active is None or host in active:
                rows.append(HostRow(host, "running", None, max(0.0, now - since), _line(last_lines.get(host, ""))))
            else:
                rows.append(HostRow(host, "pending"))
        return tuple(rows)
    record = session.steps.get(step.id) if session is not None else None
    if record is None or (not record.hosts and record.state == "running"):
        return tuple(HostRow(h, "pending") for h in step_targets(profile, step))
    rows = []
    for h in record.hosts:
        if not isinstance(h, Mapping):
            continue
        host = str(h.get("host", "?"))
        code = h.get("exit_status")
        duration = h.get("duration")
        line = last_lines.get(host) or _last(h.get("tail")) or str(h.get("error") or "")
        rows.append(HostRow(host, str(h.get("state", "?")), code if isinstance(code, int) else None,
                            float(duration) if isinstance(duration, int | float) else None, _line(line)))
    return tuple(rows)


class HostsScreen(Modal[None]):
    """Every host of one step; ``f`` cycles the filter, Escape closes."""

    DEFAULT_CSS = MODAL_CSS + """
    HostsScreen > Vertical.-hosts { height: 95%; max-height: 95%; max-width: 160; }
    HostsScreen #hosts-head { color: $text-muted; text-style: bold; height: 1; text-wrap: nowrap; }
    HostsScreen #hosts-counts { height: auto; }
    """
    SCOPED_CSS = False
    DEFAULT_CLASSES = "cockpit-modal"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="cancel"),
        Binding("q", "close", show=False),
        Binding("f", "host_filter", "Filter", id="host_filter"),
    ]

    def __init__(self, step_id: str, title: str, rows: Callable[[], Sequence[HostRow]]) -> None:
        super().__init__()
        self.step_id, self.title_text, self.rows = step_id, title, rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="-hosts"):
            yield Label(f"hosts of {self.step_id}: {self.title_text}", classes="title", markup=False)
            yield Static("", id="hosts-counts")
            yield Static("", id="hosts-head")
            yield HostList(id="hosts-list")
            yield Static(Content("f: filter (all → failed → unreachable) · ↑↓ PgUp PgDn Home End scroll · "
                                 "Escape closes"), classes="field")

    def on_mount(self) -> None:
        self.list = self.query_one(HostList)
        self.list.focus()
        self.reload()
        self.set_interval(RELOAD, self.reload, name="hosts-reload")

    def reload(self) -> None:
        """Ask for the rows again; the list repaints only when they changed."""
        if self.list.set_rows(self.rows()):
            self._head()

    def _head(self) -> None:
        rows = self.list.rows
        which = self.list.filter
        shown = f" · showing {which} ({len(self.list.shown)})" if which != "all" else ""
        filters = " ".join(f"[{f}]" if f == which else f for f in FILTERS)
        self.query_one("#hosts-counts", Static).update(
            Content.assemble((counts_text(rows) + shown, "bold"), ("   filter: " + filters, "$text-muted")))
        self.query_one("#hosts-head", Static).update(Content(header_text(self.list.host_width)))

    def action_host_filter(self) -> None:
        self.list.set_filter(next_filter(self.list.filter))
        self._head()

    def action_close(self) -> None:
        self.dismiss(None)
