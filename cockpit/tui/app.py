"""The cockpit app: header, panels, checklist, next step, log pane, footer; keys wired to the Controller.

The app reads one thing, a `cockpit.feed.Feed`: the live `Controller`, or the fixed
scenes of `cockpit.tui.scenes`. The feed's events arrive as Textual messages
(`EngineEvent`): a subscriber called inside a journal write only posts a message,
so nothing drawn here runs inside the journal writer. What is drawn is decided in
`present.py`; widgets only render the plain values they are given, and Textual
compares them (a reactive set to an equal value repaints nothing).

Nothing here waits for the network: the controller starts after the first screen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from textual import on, work
from textual.app import App, ComposeResult
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Key, Resize
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.theme import ThemeProvider
from textual.timer import Timer
from textual.widgets import Footer, Static

from cockpit import held
from cockpit.feed import (
    ChecksEvent,
    ConnectionEvent,
    DriverEvent,
    Feed,
    FeedEvent,
    FeedStatus,
    JournalEvent,
    JournalProblemEvent,
    OutputEvent,
    SeriesEvent,
    StepEvent,
)
from cockpit.kinds import step_kind
from cockpit.profile.keys import APP_ACTIONS
from cockpit.profile.model import Profile
from cockpit.session import Session
from cockpit.tui import bindings as keys
from cockpit.tui import present
from cockpit.tui.actions import StepActions
from cockpit.tui.commands import StepCommands
from cockpit.tui.hosts import HostsScreen, host_rows
from cockpit.tui.modal import Palette, nothing_to_await
from cockpit.tui.pair import HandOverScreen, PairCommands
from cockpit.tui.screens import (
    SMALL_HEIGHT,
    DetailScreen,
    FilterScreen,
    HelpScreen,
    YesNoScreen,
)
from widgets.alerts import AlertsPanel
from widgets.chart import LineChartPanel
from widgets.checklist import Checklist
from widgets.data import CheckRow, HeaderInfo
from widgets.fmt import clock
from widgets.header import CockpitHeader
from widgets.history import HistoryPanel
from widgets.hosts import HostRow
from widgets.logpane import LogLine, LogPane
from widgets.panel import SignalPanel
from widgets.queues import QueuePanel
from widgets.value import ValuePanel

if TYPE_CHECKING:
    from cockpit.controller import Controller

PANELS: dict[str, type[SignalPanel]] = {
    "bars": QueuePanel,
    "line": LineChartPanel,
    "history": HistoryPanel,
    "value": ValuePanel,
    "alerts": AlertsPanel,
}
THEMES = ("nord", "ansi-dark", "textual-dark")  # calm dark default; ansi-dark for limited-colour terminals
COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30
WIDE_WIDTH, WIDE_HEIGHT = 160, 44
MIN_WIDTH, MIN_HEIGHT = 80, 24
SERIES_COALESCE = 0.25  # seconds: series updates arriving within this share one repaint
GROUP_WINDOW = 0.5  # seconds: the same connection event on many hosts, each within this of the last, is one notification
VIM_KEYS = {"j": "cursor_down", "k": "cursor_up"}  # bound only when no step takes the key


class Notice(NamedTuple):
    """A notification as shown (after redaction)."""

    message: str
    severity: SeverityLevel
    title: str


class EngineEvent(Message):
    """One event of the feed, delivered through the app's message queue."""

    def __init__(self, event: FeedEvent) -> None:
        super().__init__()
        self.event = event


class CockpitApp(StepActions):
    """The rollback cockpit."""

    TITLE = "cockpit"
    CSS = """
    Screen { layout: vertical; }
    #body { height: 1fr; }
    #panels-col { width: 54; height: 1fr; }
    #panels { height: 1fr; scrollbar-size-vertical: 1; }
    #panels LineChartPanel { height: 1fr; min-height: 8; }
    #panels-more { height: 1; color: $warning; text-style: bold; display: none; }
    #panels-more.-shown { display: block; }
    #right { width: 1fr; }
    #checklist-box {
        height: 1fr; border: round $accent; border-title-color: $text; border-title-style: bold;
    }
    #checklist-box:focus-within { border: round $accent-lighten-1; }
    #next { height: 1; padding: 0 1; background: $boost; text-wrap: nowrap; text-overflow: ellipsis; }
    LogPane { height: 11; }
    Screen.-wide #panels-col { width: 42%; }
    Screen.-wide #panels QueuePanel { height: 7; }
    Screen.-wide #panels HistoryPanel, Screen.-wide #panels ValuePanel { height: 6; }
    Screen.-wide #checklist-box { height: 3fr; }
    Screen.-wide LogPane { height: 2fr; }
    Screen.-compact #body { layout: vertical; }
    Screen.-compact #panels-col { width: 1fr; height: auto; }
    Screen.-compact #panels { height: auto; }
    Screen.-compact #panels LineChartPanel { height: 1; min-height: 1; }
    Screen.-compact LogPane { height: 6; }
    #panels-col.-empty { display: none; }
    #too-small { display: none; padding: 1 2; color: $warning; text-style: bold; }
    Screen.-tiny #body { display: none; }
    Screen.-tiny #next { display: none; }
    Screen.-tiny #too-small { display: block; }
    """
    BINDINGS = keys.app_bindings()
    COMMANDS = App.COMMANDS | {StepCommands, PairCommands}

    def __init__(
        self,
        profile: Profile,
        *,
        feed: Feed | None = None,
        controller: Controller | None = None,
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        user_host: str | None = None,
        theme: str | None = None,
        note: str = "",
        ready_file: str | None = None,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.controller = controller
        self.feed: Feed | None = feed if feed is not None else controller
        status = self.feed.status() if self.feed is not None else FeedStatus()
        self.read_only = bool(read_only or profile.cockpit.read_only or status.read_only)
        self.clock = clock
        self.user_host = user_host or _whoami()
        self.note = note
        self.ready_file = ready_file if ready_file is not None else os.environ.get("COCKPIT_BENCH_READY_FILE")
        wanted = theme or os.environ.get("COCKPIT_THEME") or THEMES[0]
        self.theme = wanted if wanted in self.available_themes else THEMES[0]
        self.debounce_clock: Callable[[], float] = time.monotonic
        self._signals = present.panel_signals(profile)
        self._check_status: dict[str, str] = {}
        self._last_press: dict[str, float] = {}
        self._refresh_pending = False
        self._units = present.check_units(profile)
        self._unsubscribe: list[Callable[[], None]] = []
        self._unseen: set[str] = set()      # failed steps whose detail was not opened yet
        self._next: str | None = None       # the runbook's next step (highlighted)
        self._groups: dict[str, tuple[str, str, set[str]]] = {}  # key -> (wording, first message, hosts)
        self._group_timers: dict[str, Timer] = {}
        self._has_output = False
        self._late_said = False     # the forecast's "no longer fits" was notified (again once it fits)
        self._is_driver = status.is_driver  # refreshed every clock tick (output lines do not ask)
        self.notices: list[Notice] = []  # every notification shown (tests read it)
        self.journal_path: str | None = None  # the journal of this session, printed on quit
        self._live_output: set[str] = set()   # steps whose output arrived live (no tail replay at their end)
        self._last_lines: dict[str, dict[str, str]] = {}  # step -> host -> last output line (the hosts view)
        self.stopped = False  # the controller was stopped by the app
        self.step_keys: dict[str, str] = {}
        for key, action, label in keys.step_bindings(profile):
            self.bind(key, action, description=label, show=False)
            self.step_keys[key] = action
        taken = set(self.step_keys) | {keys.app_key(profile, a) for a in keys.APP_LEVEL}
        for key, action in VIM_KEYS.items():
            if key not in taken:
                self.bind(key, f"checklist_{action}", show=False)
        self.set_keymap(keys.keymap(profile))

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static("", id="too-small")
        with Horizontal(id="body"):
            with Vertical(id="panels-col", classes="" if self._signals else "-empty"):
                with VerticalScroll(id="panels", can_focus=False):
                    for sig in self._signals:
                        yield PANELS.get(sig.view, ValuePanel)(sig.title or sig.id, id=f"panel-{sig.id}")
                yield Static("", id="panels-more")
            with Vertical(id="right"):
                box = VerticalScroll(id="checklist-box", can_focus=False)
                box.border_title = "checklist"
                with box:
                    yield Checklist(id="checklist")
                yield Static("", id="next")
                yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        # the widgets, found once: a timer firing while the app shuts down never queries an emptied screen
        self.header = self.query_one(CockpitHeader)
        self.checklist = self.query_one(Checklist)
        self.log_pane = self.query_one(LogPane)
        hosts = {h for group in self.profile.hosts.values() for h in group}
        self.log_pane.host_width = min(32, max((len(h) for h in hosts), default=1))
        self.next_line = self.query_one("#next", Static)
        self.panels = {sig.id: self.query_one(f"#panel-{sig.id}", SignalPanel) for sig in self._signals}
        checklist = self.checklist
        checklist.read_only = self.read_only
        checklist.steps = tuple(present.step_row(self.profile, s, None) for s in self.profile.steps)
        checklist.checks = tuple(present.pending_checks(self.profile))
        checklist.focus()
        self._apply_size(self.size.width, self.size.height)
        self._clock_tick()
        self.refresh_panels()
        self.refresh_steps()
        self.set_interval(1.0, self._clock_tick, name="clock")
        # series updates repaint at once; this catches a source going overdue (stale) without an answer
        self.set_interval(max(2.0, self.profile.cockpit.refresh), self.refresh_panels, name="staleness")
        if self.ready_file:
            self.call_after_refresh(self._write_ready)
        if self.feed is not None:
            self._unsubscribe.append(self.feed.subscribe(self._post_event))
            self.refresh_all()
        if self.controller is not None:
            # after the first paint: starting imports asyncssh (~0.5 s) and must not delay the screen
            self.call_after_refresh(self.start_controller)

    def _write_ready(self) -> None:
        assert self.ready_file is not None
        Path(self.ready_file).write_text(f"{time.time():.6f}\n")

    def on_resize(self, event: Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        tiny = width < MIN_WIDTH or height < MIN_HEIGHT
        wide = width >= WIDE_WIDTH and height >= WIDE_HEIGHT
        self.screen.set_class(compact, "-compact")
        self.screen.set_class(tiny, "-tiny")
        self.screen.set_class(wide and not compact, "-wide")
        self.set_class(height < SMALL_HEIGHT, "-small")
        if tiny:
            self.query_one("#too-small", Static).update(
                f"terminal too small ({width}x{height}): the cockpit needs at least {MIN_WIDTH}x{MIN_HEIGHT}"
            )
        for panel in self.query(SignalPanel):
            panel.compact = compact
        self.call_after_refresh(self._panels_hint)

    def _panels_hint(self) -> None:
        """``+1 panel below`` when a panel does not fit (the panel column scrolls with the mouse)."""
        if self.stopped or not self.query("#panels"):
            return
        box = self.query_one("#panels", VerticalScroll)
        bottom = box.region.bottom
        hidden = sum(1 for p in self.query(SignalPanel) if p.region.height == 0 or p.region.bottom > bottom)
        hint = self.query_one("#panels-more", Static)
        hint.set_class(hidden > 0, "-shown")
        hint.update(f"+{hidden} panel{'s' if hidden > 1 else ''} below ↓" if hidden else "")

    # -- the feed ----------------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.feed.session if self.feed is not None else None

    @work(exclusive=True, group="controller")
    async def start_controller(self) -> None:
        c = self.controller
        assert c is not None
        try:
            await c.start()
        except Exception as exc:  # a clear message, never a traceback over the screen
            self.notify(f"cockpit could not start: {exc}", severity="error", timeout=30)
            return
        self.read_only = self.read_only or not c.is_driver
        self.checklist.read_only = self.read_only
        for notice in c.notices:
            self.notify(notice, timeout=15)
            if notice.startswith("resumed session") and c.session.rollback_started is not None:
                self.note = f"resumed session from {clock(c.session.rollback_started)[:5]}"
        self.refresh_all()

    def pop_screen(self) -> AwaitComplete:
        """Never pop the main screen. Our own screens close only themselves (`cockpit.tui.modal`), but
        a screen of Textual's that dismisses once per Enter (a plain CommandPalette, from
        `search_commands`) with only the main screen left killed the app (ScreenStackError)."""
        if len(self.screen_stack) <= 1:
            return nothing_to_await(self)
        return super().pop_screen()

    def action_command_palette(self) -> None:
        """ctrl+p: our palette (`_open_palette`), in place of Textual's."""
        if self.use_command_palette:
            self._open_palette()

    def search_themes(self) -> None:
        """Textual's theme picker (the palette's "Theme"), as one of our palettes: a plain
        CommandPalette took every Enter typed before it closed, and popped the screen beneath."""
        self._open_palette(providers=[ThemeProvider], placeholder="Search for themes…")

    def _open_palette(self, **options: Any) -> None:
        """One palette at a time, that closes only itself. Textual's own check looks at the top screen
        only, so a dialog that opened over the palette (an approval request, a hand-over offer) let
        ctrl+p open a second one, and the app died (DuplicateIds)."""
        if any(isinstance(s, CommandPalette) for s in self.screen_stack):
            where = "" if isinstance(self.screen, CommandPalette) else ", under this dialog"
            self.notify(f"the command palette is already open{where}", timeout=4)
            return
        self.push_screen(Palette(id="--command-palette", **options))

    def refresh_all(self) -> None:
        self._is_driver = self.feed.status().is_driver if self.feed is not None else False
        self.journal_path = self.feed.status().journal_path if self.feed is not None else None
        self.refresh_steps()
        self.refresh_checks()
        self.refresh_panels()
        self._clock_tick()
        self.refresh_bindings()

    def _post_event(self, event: FeedEvent) -> None:
        """The feed's sink: only posts a message, so the event is handled in the app's own loop."""
        self.post_message(EngineEvent(event))

    def on_engine_event(self, message: EngineEvent) -> None:
        if self.stopped:
            return  # events queued while the app shut down: nothing left to draw them on
        ev = message.event
        if isinstance(ev, OutputEvent):
            # the driver's own lines, or (observer) the lines the driver published in its feed
            line = ev.line
            self._live_output.add(line.step_id)
            self._last_lines.setdefault(line.step_id, {})[line.host] = line.text
            self.show_output(line.step_id, line.host, line.text, line.stream)
        elif isinstance(ev, StepEvent):
            self._step_event(ev)
        elif isinstance(ev, SeriesEvent):
            # sources polled together answer within milliseconds: one repaint for all of them
            if not self._refresh_pending:
                self._refresh_pending = True
                self.set_timer(SERIES_COALESCE, self._coalesced_refresh)
        elif isinstance(ev, ChecksEvent):
            # a transition at once; every evaluation also carries the live values and ages of
            # the check rows, which join the coalesced repaint
            if ev.transitions:
                self.refresh_checks()
            elif not self._refresh_pending:
                self._refresh_pending = True
                self.set_timer(SERIES_COALESCE, self._coalesced_refresh)
        elif isinstance(ev, JournalProblemEvent):
            self._journal_problem(ev.problem)
        elif isinstance(ev, ConnectionEvent):
            if ev.event in ("down", "reconnecting"):
                self._grouped_notify(ev.host, ev.event, ev.detail)
            self._clock_tick()
        elif isinstance(ev, JournalEvent):
            self._journal_event(ev.entry)
        elif isinstance(ev, DriverEvent):
            self._on_driver(ev.state)

    def _on_driver(self, state: str) -> None:
        """Observer: the driver appeared, died (lock free, session not ended) or left."""
        c = self.controller
        if state == "gone" and c is not None:
            since = clock(c.driver_gone_since)[:8] if c.driver_gone_since else "?"
            how = ("ctrl+p → Take over driving" if not getattr(c, "forced_read_only", True)
                   else f"start `cockpit --profile {self.profile.path}` to take over")
            how += " (same journal, same RTO clock)"
            after = ("this cockpit now samples the sources itself" if getattr(c, "polls_sources", True)
                     else "the panels show the driver's last samples going stale")
            self.notify(f"driver gone (since {since}): {how}; {after}", severity="warning", timeout=30)
        self._clock_tick()

    def _step_event(self, ev: StepEvent) -> None:
        result = ev.result
        if result is not None and result.state == "refused":
            self.notify(f"{ev.step_id} refused: {result.reason}", severity="warning", timeout=10)
            self.show_output(ev.step_id, "⊘", f"{ev.step_id} refused: {result.reason}", "error")
        elif result is not None and result.state in ("failed", "partial"):
            self.notify(f"{ev.step_id} {result.state}: {result.reason or 'see output'}", severity="error", timeout=10)
        if result is not None:
            self._close_cancel_dialog(ev.step_id)
        self.refresh_steps()

    def _close_cancel_dialog(self, step_id: str) -> None:
        """A "Cancel …?" dialog about a step that has ended asks about nothing: close it, say why."""
        for screen in self.screen_stack[1:]:
            if isinstance(screen, YesNoScreen) and screen.about_step == step_id:   # covered: closes when uncovered
                screen.dismiss(False)
                self.notify(f"{step_id} ended before it was cancelled", timeout=6)

    def _journal_event(self, entry: Any) -> None:
        kind = entry.get("type")
        observer = self.feed is not None and not self._is_driver
        if observer and kind == "step_output":
            for text in entry.get("lines", entry.get("tail", [])) or []:
                self.show_output(str(entry.get("step")), str(entry.get("host", "?")), str(text))
        elif observer and kind == "step_end" and str(entry.get("step")) not in self._live_output:
            for host in entry.get("hosts", []) or []:
                for text in host.get("tail", []) or []:
                    self.show_output(str(entry.get("step")), str(host.get("host", "?")), str(text))
        if kind == "step_start":
            self._last_lines.pop(str(entry.get("step")), None)   # a new run: its own last lines
        if kind == "step_end":
            self.show_step_end(entry)
        said = held.screen_line(entry)   # silences and Grafana regions: opened, extended, closed, failed
        if said is not None:
            self.notify(said[0], severity="warning" if said[1] == "warning" else "information", timeout=10)
        if kind in ("step_start", "step_end", "manual_tick", "session_start", "session_resume"):
            self.refresh_steps()
        if kind in ("rollback_start", "rollback_end", "session_start", "session_resume"):
            self._clock_tick()
            self.refresh_bindings()
        if kind == "check_transition" and observer:
            self.refresh_checks()
        if kind == "handoff_offered" and observer and entry.get("to") == _whoami().split("@")[0]:
            self.push_screen(
                YesNoScreen(f"{entry.get('by')} offers you the wheel: take over driving?", yes="Take over",
                            detail="Same journal, same RTO clock; the lock moves to you."),
                self._answer_handoff)
        if kind == "approval_requested" and observer:
            self._ask_approval(dict(entry))
        elif kind == "approval_requested":
            self.notify(f"{entry.get('step')} waits for another Unix user's approval (until "
                        f"{clock(float(entry.get('expires') or 0))[:8]}): an observer's screen, or "
                        f"`cockpit approve {entry.get('step')} --profile {self.profile.path}`", timeout=30)

    # -- pair driving: hand over, accept, take over -----------------------------------------
    def action_hand_over(self) -> None:
        if self.controller is None or not self.controller.is_driver:
            return
        self.push_screen(HandOverScreen(), self._offer_hand_over)

    def _answer_handoff(self, yes: bool | None) -> None:
        if yes:
            self._accept_handoff()

    def _offer_hand_over(self, user: str | None) -> None:
        if user:
            self._hand_over(user)

    @work(exclusive=True, group="pair")
    async def _hand_over(self, user: str) -> None:
        c = self.controller
        assert c is not None   # the action is offered only with a controller
        self.notify(f"offered the wheel to {user}: waiting for them to accept", timeout=10)
        try:
            taken = await c.hand_over(user)
        except (PermissionError, RuntimeError, ValueError) as exc:
            self.notify(f"cannot hand over: {exc}", severity="error", timeout=15)
            return
        if not taken:
            self.notify(f"{user} did not accept: you still drive", severity="warning", timeout=15)
            return
        self._set_driving(False)
        self.notify(f"handed over to {user}: this cockpit now observes", timeout=15)

    @work(exclusive=True, group="pair")
    async def _accept_handoff(self) -> None:
        try:
            assert self.controller is not None
            await self.controller.accept_handoff()
        except Exception as exc:   # a clear message, never a traceback over the screen
            self.notify(f"could not take over: {exc}", severity="error", timeout=15)
            return
        self._set_driving(True)
        self.notify("you drive now: same journal, same RTO clock", timeout=15)

    def action_take_over(self) -> None:
        self._take_over()

    @work(exclusive=True, group="pair")
    async def _take_over(self) -> None:
        try:
            assert self.controller is not None
            await self.controller.take_over()
        except Exception as exc:
            self.notify(f"could not take over: {exc}", severity="error", timeout=15)
            return
        self._set_driving(True)
        self.notify("you drive now: same journal, same RTO clock", timeout=15)

    def _set_driving(self, driving: bool) -> None:
        self.read_only = not driving
        self.query_one(Checklist).read_only = self.read_only
        self.refresh_steps()
        self.refresh_bindings()
        self._clock_tick()

    def _ask_approval(self, entry: dict[str, Any]) -> None:
        """Two-person rule: an observer of another Unix user than the driver sees the request and answers it."""
        from cockpit.tui.approval import ApprovalAnswer, ApprovalPrompt, ApprovalScreen

        c = self.controller
        step_id = str(entry.get("step"))
        if c is None or entry.get("uid") == os.geteuid() or not any(
                r.id == entry.get("request") for r in c.pending_approvals()):
            return
        try:
            title = self.profile.step(step_id).title
        except KeyError:
            return
        prompt = ApprovalPrompt(step_id, title, entry.get("command"), tuple(entry.get("hosts") or ()),
                                str(entry.get("preview") or ""), str(entry.get("by") or "?"),
                                float(entry.get("expires") or 0.0), self.profile.cockpit.environment)

        def done(answer: ApprovalAnswer | None) -> None:
            if answer is None:
                self.notify(f"approval of {step_id} left open: `cockpit approve {step_id}` answers it too",
                            timeout=10)
                return
            from cockpit.approval import ApprovalError

            try:
                c.answer_approval(step_id, confirmation=answer.confirmation,
                                  approve=answer.decision == "approve", reason=answer.reason)
            except ApprovalError as exc:
                self.notify(f"not sent: {exc}", severity="error", timeout=15)
                return
            self.notify(f"{'approval' if answer.decision == 'approve' else 'refusal'} of {step_id} sent to "
                        f"{prompt.requested_by}", timeout=10)

        self.push_screen(ApprovalScreen(prompt), done)

    def show_step_end(self, entry: Any) -> None:
        """A failed/partial/cancelled step leaves its reason and every host's error in the output
        pane, and a mark on its row until its detail is opened."""
        lines = present.failure_lines(entry)
        step_id = str(entry.get("step"))
        for host, text in lines:
            self.show_output(step_id, host, text, "error")
        if lines and entry.get("state") in ("failed", "partial"):
            self._unseen.add(step_id)
        elif entry.get("state") == "ok":
            self._unseen.discard(step_id)

    # -- what is drawn -------------------------------------------------------------------------
    def show_output(self, step_id: str, host: str, text: str, stream: str = "stdout") -> None:
        self.log_pane.add(LogLine(step_id, host, text, stream))
        if not self._has_output:
            self._has_output = True
            self.refresh_bindings()

    def _coalesced_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_panels()
        self.refresh_checks()  # the live values and ages on the check rows

    def _journal_problem(self, problem: str | None) -> None:
        """The journal cannot be written (nothing can be fired), or it can again."""
        if problem is None:
            self.notify("the journal can be written again", timeout=8)
        else:
            self.notify(f"JOURNAL CANNOT BE WRITTEN: {problem}. Nothing can be fired until it can; "
                        "free space, then try again.", severity="error", timeout=600)
        self.refresh_bindings()

    def _view(self, signal_id: str, now: float) -> Any:
        return self.feed.signal_view(signal_id, now) if self.feed is not None else None

    def refresh_panels(self) -> None:
        now = self.clock()
        session = self.session
        started = session.rollback_started if session is not None else None
        markers = present.step_markers(self.profile, session)

        def view_of(signal_id: str) -> Any:
            return self._view(signal_id, now)

        for sig in self._signals:
            check = present.check_for(self.profile, sig.id)
            status = self._check_status.get(check.id) if check is not None else None
            data = present.panel_data(
                self.profile, sig, view_of(sig.id), now, rollback_started=started,
                workers=present.worker_counts(sig, view_of), notes=present.panel_notes(self.profile, sig, view_of),
                check_status=status, markers=markers if sig.view == "line" else (),
            )
            self.panels[sig.id].data = data  # equal data repaints nothing

    def refresh_checks(self) -> None:
        states = list(self.feed.check_states()) if self.feed is not None else []
        if not states:
            return
        self._check_status = {st.check_id: st.status for st in states}
        rows: list[CheckRow] = []
        for st in states:
            unit, scale = self._units.get(st.check_id, ("", 1.0))
            rows.append(present.check_row(st, unit, scale))
        self.checklist.checks = tuple(rows)

    def refresh_steps(self) -> None:
        session = self.session
        if session is None:
            return
        running = self.feed.running if self.feed is not None else {}
        nxt = present.next_step(self.profile, session, running)
        checklist = self.checklist
        rows = []
        for step in self.profile.steps:
            live = running.get(step.id)
            done = live.progress[0] if live is not None else None
            row = present.step_row(self.profile, step, session.steps.get(step.id), session.ticks.get(step.id, ()), done)
            batch = getattr(live, "batch", None)
            if batch is not None and row.state == "running":   # a rolling step: which batch is out
                row = replace(row, detail=f"batch {batch[0]}/{batch[1]}")
            rows.append(replace(row, next=nxt is not None and step.id == nxt.id, unseen=step.id in self._unseen))
        follow = self._next is None or checklist.current() == ("step", self._next)
        checklist.steps = tuple(rows)
        new = nxt.id if nxt is not None else None
        if new != self._next and follow and new is not None:
            checklist.move_to("step", new)  # the cursor follows the next step unless moved away
        self._next = new
        busy = [*running] or sorted(session.running)
        text = present.next_text(self.profile, nxt, session, self.read_only, busy)
        hint = "" if busy or nxt is None else "   (Enter on the highlighted row)"
        self.next_line.update(
            Content.assemble((text, "bold"), (hint, "$text-muted")) if text else Content("")
        )
        self.refresh_bindings()

    def _header_note(self) -> str:
        c = self.controller
        if c is not None and getattr(c, "driver_state", "") == "gone":
            since = getattr(c, "driver_gone_since", None)
            here = ", sampling here" if getattr(c, "polls_sources", True) else ", waiting for the next driver"
            gone = f"driver gone (since {clock(since)[:8] if since else '?'}){here}"
            return f"{gone} · {self.note}" if self.note else gone
        return self.note

    def _clock_tick(self) -> None:
        if self.stopped:
            return
        now = self.clock()
        session = self.session
        started = session.rollback_started if session is not None else None
        ended = session.rollback_ended if session is not None else None
        status = self.feed.status() if self.feed is not None else FeedStatus()
        self._is_driver = status.is_driver
        start_key = keys.display(keys.app_key(self.profile, "start_rollback"))
        info = HeaderInfo(
            name=self.profile.cockpit.name,
            environment=self.profile.cockpit.environment,
            read_only=self.read_only,
            user_host=self.user_host,
            now=now if started is not None and ended is None else 0.0,  # the clock only moves while it runs
            lock_holder=status.lock_holder,
            rto_budget=self.profile.cockpit.rto,
            rollback_started=started,
            rollback_ended=ended,
            start_key=start_key,
            start_hint=present.rto_hint(self.profile, start_key),
            note=self._header_note(),
            connections=status.connections,
            lock_scope=status.lock_scope,
            alert=present.status_alert(status),
            forecast=status.forecast,
            forecast_late=status.forecast_warning is not None,
        )
        if status.forecast_warning is not None and not self._late_said:
            self.notify(f"RTO forecast: {status.forecast_warning}", severity="warning", timeout=20)
        self._late_said = status.forecast_warning is not None
        self.header.info = info  # an idle cockpit stays idle: equal info repaints nothing
        running = bool(self.feed is not None and self.feed.running) or bool(session is not None and session.running)
        if running or (started is not None and ended is None):  # elapsed times and countdowns move
            self.checklist.now = now
        if started is not None:
            self._tick_deadlines(now, started)

    def _tick_deadlines(self, now: float, started: float) -> None:
        """Move the ``within`` countdowns (the chart itself is cached: only its headline changes)."""
        for sig in self._signals:
            check = present.check_for(self.profile, sig.id)
            if check is None or check.within is None:
                continue
            panel = self.panels[sig.id]
            if panel.data is not None:
                deadline = present.deadline_for(self.profile, sig, started, self._check_status.get(check.id))
                panel.data = replace(panel.data, now=now, deadline=deadline)
                if deadline is not None:
                    panel.refresh()  # the countdown moved (``now`` alone compares equal)

    # -- notifications -------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification passes the controller's redactor, and is plain text by default.

        Reasons quote server answers and exception text: redacting here covers every path to
        the screen at once, and plain text keeps a "[redacted]" or "[1]" from being read as markup.
        """
        if self.controller is not None:
            message, title = self.controller.redact(message), self.controller.redact(title)
        self.notices.append(Notice(message, severity, title))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def _grouped_notify(self, host: str, event: str, detail: str) -> None:
        """The same event on many hosts within GROUP_WINDOW is one notification ("… on 20 hosts")."""
        key, words = present.notification_group(host, event, detail)
        if key not in self._groups:
            self._groups[key] = (words, f"{host}: {event} {detail}".strip(), set())
            self._group_timers[key] = self.set_timer(GROUP_WINDOW, lambda: self._flush_group(key))
        else:
            self._group_timers[key].reset()  # the window slides while the same event keeps coming
        self._groups[key][2].add(host)

    def _flush_group(self, key: str) -> None:
        words, first, hosts = self._groups.pop(key, ("", "", set()))
        self._group_timers.pop(key, None)
        if len(hosts) == 1:
            self.notify(first, severity="warning", timeout=8)
        elif hosts:
            names = ", ".join(sorted(hosts)[:3]) + ("…" if len(hosts) > 3 else "")
            self.notify(f"{words} — on {len(hosts)} hosts: {names}", severity="warning", timeout=10)

    # -- keys --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows only keys that do something now."""
        modal = len(self.screen_stack) > 1
        if action in ("fire", "start_rollback", "cancel_step") and modal:
            return False  # a modal is open: it is the only thing keys act on
        session = self.session
        if action == "start_rollback":
            if self.read_only:
                return False  # not offered; pressed anyway, on_key says why nothing happens
            return not (session is None or session.rollback_started is not None or self.controller is None)
        if action == "cancel_step":
            if self.read_only:
                return False
            return bool(self.feed is not None and self.feed.running)
        if action == "cycle_filter":
            return self._has_output
        if action == "stop_after_batch":
            if self.read_only or modal:
                return False
            return self._batched_running() is not None
        if action == "fire" and self.read_only:
            return None
        return True

    def on_key(self, event: Key) -> None:
        """A disabled step key in read-only mode explains why nothing happens."""
        acting = (keys.app_key(self.profile, "start_rollback"), keys.app_key(self.profile, "cancel_step"),
                  keys.app_key(self.profile, "stop_after_batch"))
        if self.read_only and len(self.screen_stack) == 1 and (event.key in self.step_keys or event.key in acting):
            self.notify("read-only session: nothing can be fired from this cockpit", severity="warning")
            event.stop()

    def action_checklist_cursor_down(self) -> None:
        self.checklist.action_cursor_down()

    def action_checklist_cursor_up(self) -> None:
        self.checklist.action_cursor_up()

    def _overtaken(self, action: str, row_id: str) -> bool:
        """A checklist key whose message arrives once another screen has opened (keys that came together:
        Enter then ctrl+p) is ignored, and the screen says so: its dialog would open over the newer one."""
        if self.screen is self.checklist.screen:
            return False
        key = keys.display(keys.app_key(self.profile, action))
        self.notify(f"{key} on {row_id} ignored: another window opened first", severity="warning", timeout=5)
        return True

    @on(Checklist.Selected)
    def _selected(self, message: Checklist.Selected) -> None:
        """Enter: a step that can run (never run, or its last run did not succeed) opens its confirmation;
        a step that succeeded or runs, and a check, open their detail."""
        if self._overtaken("select", message.row_id):
            return
        if message.kind == "step":
            session = self.session
            state = session.state_of(message.row_id) if session is not None else "idle"
            if state in ("idle", *present.FAILED_STATES) and not self.read_only:
                self.action_fire(message.row_id)
                return
        self.show_detail(message.kind, message.row_id)

    @on(Checklist.Detail)
    def _detail(self, message: Checklist.Detail) -> None:
        if not self._overtaken("toggle", message.row_id):
            self.show_detail(message.kind, message.row_id)

    def show_detail(self, row_kind: str, row_id: str) -> None:
        """A step's per-host results (exit codes, output) or a check's history; clears the failure mark."""
        if self._dialog_open():
            return
        if row_kind == "step":
            step = self.profile.step(row_id)
            live = self.feed.running.get(row_id) if self.feed is not None else None
            text = present.step_detail(self.profile, step, self.session, live.progress if live else None)
            title = f"step {step.id}"
            self._unseen.discard(row_id)
            self.refresh_steps()
        else:
            state = next((s for s in (self.feed.check_states() if self.feed else []) if s.check_id == row_id), None)
            if state is None:
                self.notify(f"{row_id}: no data yet", timeout=4)
                return
            unit, scale = self._units.get(row_id, ("", 1.0))
            history = self.feed.check_history(row_id) if self.feed is not None else []
            text = present.check_detail(state, history, unit, scale)
            title = f"check {row_id}"
        self.push_screen(DetailScreen(title, text, kind=row_kind, row_id=row_id))

    def action_hosts(self) -> None:
        """Every host of the selected step (or of the running one when a check row is selected)."""
        if self._dialog_open():
            return
        current = self.checklist.current()
        step_id = current[1] if current is not None and current[0] == "step" else None
        if step_id is None and self.feed is not None and self.feed.running:
            step_id = next(iter(self.feed.running))
        if step_id is None:
            self.notify("select a step first: the hosts view shows one step's hosts", timeout=4)
            return
        step = self.profile.step(step_id)
        if step_kind(step.kind).runs_on != "hosts":
            self.notify(f"{step_id} runs on no host ({step.kind} step)", timeout=4)
            return

        def rows() -> tuple[HostRow, ...]:
            live = self.feed.running.get(step_id) if self.feed is not None else None
            return host_rows(self.profile, step, self.session, live,
                             last_lines=self._last_lines.get(step_id, {}), now=self.clock())

        self.push_screen(HostsScreen(step_id, step.title, rows))

    def action_cycle_filter(self) -> None:
        log = self.log_pane
        seen = log.steps_seen()
        if not seen:
            self.notify("no output yet", timeout=3)
            return
        order: list[str | None] = [None, *seen]
        nxt = order[(order.index(log.step_filter) + 1) % len(order)] if log.step_filter in order else None
        log.set_filter(nxt)

    def action_filter(self) -> None:
        log = self.log_pane
        ids = [s.id for s in self.profile.steps]

        def done(value: str | None) -> None:
            if value is None:
                return
            if not value:
                log.set_filter(None)
                return
            match = next((s for s in ids if s == value), None) or next((s for s in ids if value in s), None)
            if match is None:
                self.notify(f"no step matches {value!r}", severity="warning")
            else:
                log.set_filter(match)

        self.push_screen(FilterScreen(ids), done)

    def help_screen(self) -> HelpScreen:
        app_keys = [(keys.display(keys.app_key(self.profile, action)), keys.label(action))
                    for action in APP_ACTIONS]
        step_keys = [(s.key or "", s.id, s.title) for s in present.ordered_steps(self.profile)]
        return HelpScreen(app_keys, step_keys, self.read_only)

    def action_help(self) -> None:
        self.push_screen(self.help_screen())

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: saved under the cockpit's state directory (created), and said where,
        or why not, in plain text."""
        base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        folder = Path(path) if path else Path(base) / "cockpit" / "screenshots"  # beside the journals
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            saved = self.save_screenshot(filename, str(folder), time_format)
        except OSError as e:
            self.notify(f"screenshot not saved: {folder}: {e.strerror or e}", severity="error", timeout=10)
            return None
        self.notify(f"screenshot saved: {saved}", timeout=8)
        return saved

    def action_toggle_theme(self) -> None:
        i = THEMES.index(self.theme) if self.theme in THEMES else -1
        self.theme = THEMES[(i + 1) % len(THEMES)]
        self.notify(f"theme: {self.theme}", timeout=2)

    async def action_quit(self) -> None:
        c = self.controller
        if c is not None and c.running:
            running = ", ".join(c.running)
            self.push_screen(
                YesNoScreen(f"{running} is running. Quit anyway?", yes="Quit (cancels it)",
                            detail="The step is cancelled on every host and journalled as cancelled. "
                                   "Enter keeps the cockpit running.", safe_default=True),
                self._quit_answer,
            )
            return
        await self.shutdown()

    async def action_force_quit(self) -> None:
        await self.action_quit()

    async def _quit_answer(self, yes: bool | None) -> None:
        if yes:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop the controller (journal, lock, connections), then exit."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.feed is not None:
            self.journal_path = self.feed.status().journal_path or self.journal_path
        if self.controller is not None:
            try:
                await self.controller.stop()
            except Exception as exc:
                self.log.error(f"controller stop failed: {exc}")
        self.stopped = True
        self.exit(0)


def _whoami() -> str:
    from cockpit.state import whoami

    user, host = whoami()
    return f"{user}@{host}"
