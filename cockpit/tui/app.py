"""The cockpit app: header, panels, checklist, log pane, footer; keys wired to the Controller.

The app only draws what the engine reports. Everything comes in through the
``show_*`` methods, which the controller's listeners call (and which tests and
the screenshot script call with fixed values). Nothing here waits for the
network: the controller starts in a worker after the first screen is drawn.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.command import CommandPalette
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key, Resize
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Static

from cockpit.profile.model import Profile, SignalSpec
from cockpit.tui import bindings as keys
from cockpit.tui import present
from cockpit.tui.commands import StepCommands
from cockpit.tui.pair import HandOverScreen, PairCommands
from cockpit.tui.screens import (
    ConfirmStepScreen,
    FilterScreen,
    HelpScreen,
    ManualTickScreen,
    Ticked,
    YesNoScreen,
)
from widgets.chart import LineChartPanel
from widgets.checklist import Checklist
from widgets.data import CheckRow, HeaderInfo
from widgets.fmt import clock, number
from widgets.header import CockpitHeader
from widgets.history import HistoryPanel
from widgets.logpane import LogLine, LogPane
from widgets.panel import SignalPanel
from widgets.queues import QueuePanel
from widgets.value import ValuePanel

PANELS: dict[str, type[SignalPanel]] = {
    "bars": QueuePanel,
    "line": LineChartPanel,
    "history": HistoryPanel,
    "value": ValuePanel,
}
THEMES = ("nord", "ansi-dark", "textual-dark")  # calm dark default; ansi-dark for limited-colour terminals
DEBOUNCE = 1.0  # seconds: a second press of a destructive key within this is ignored
COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30
MIN_WIDTH, MIN_HEIGHT = 80, 24
SERIES_COALESCE = 0.25  # seconds: series updates arriving within this share one repaint


class CockpitApp(App[int]):
    """The rollback cockpit."""

    TITLE = "cockpit"
    CSS = """
    Screen { layout: vertical; }
    #body { height: 1fr; }
    #panels { width: 54; height: 1fr; }
    #right { width: 1fr; }
    #checklist-box {
        height: 1fr; border: round $accent; border-title-color: $text; border-title-style: bold;
    }
    LogPane { height: 11; }
    Screen.-compact #body { layout: vertical; }
    Screen.-compact #panels { width: 1fr; height: auto; }
    Screen.-compact LogPane { height: 6; }
    #panels.-empty { display: none; }
    #too-small { display: none; padding: 1 2; color: $warning; text-style: bold; }
    Screen.-tiny #body { display: none; }
    Screen.-tiny #too-small { display: block; }
    """
    BINDINGS = keys.app_bindings()
    COMMANDS = App.COMMANDS | {StepCommands, PairCommands}

    def __init__(
        self,
        profile: Profile,
        *,
        controller: Any | None = None,
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
        self.read_only = bool(read_only or profile.cockpit.read_only or getattr(controller, "read_only", False))
        self.clock = clock
        self.user_host = user_host or _whoami()
        self.note = note
        self.ready_file = ready_file if ready_file is not None else os.environ.get("COCKPIT_BENCH_READY_FILE")
        wanted = theme or os.environ.get("COCKPIT_THEME") or THEMES[0]
        self.theme = wanted if wanted in self.available_themes else THEMES[0]
        self.debounce_clock: Callable[[], float] = time.monotonic
        self._signals = present.panel_signals(profile)
        self._views: dict[str, Any] = {}
        self._checks: list[Any] | None = None
        self._fixed_session: Any = None
        self._check_status: dict[str, str] = {}
        self._last_press: dict[str, float] = {}
        self._refresh_pending = False
        self._units = present.check_units(profile)
        self._unsubscribe: list[Callable[[], None]] = []
        self._live_output: set[str] = set()   # steps whose output arrived live (no tail replay at their end)
        self.stopped = False  # the controller was stopped by the app
        self.step_keys: dict[str, str] = {}
        for key, action, label in keys.step_bindings(profile):
            self.bind(key, action, description=label)
            self.step_keys[key] = action
        self.set_keymap(keys.keymap(profile))

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield CockpitHeader(id="header")
        yield Static("", id="too-small")
        with Horizontal(id="body"):
            with Vertical(id="panels", classes="" if self._signals else "-empty"):
                for sig in self._signals:
                    yield PANELS.get(sig.view, ValuePanel)(sig.title or sig.id, id=f"panel-{sig.id}")
            with Vertical(id="right"):
                box = VerticalScroll(id="checklist-box")
                box.border_title = "checklist"
                with box:
                    yield Checklist(id="checklist")
                yield LogPane(id="log")
        yield Footer()

    def on_mount(self) -> None:
        checklist = self.query_one(Checklist)
        checklist.read_only = self.read_only
        checklist.steps = tuple(present.step_row(self.profile, s, None) for s in self.profile.steps)
        checklist.checks = tuple(present.pending_checks(self.profile))
        self._apply_size(self.size.width, self.size.height)
        self._clock_tick()
        self.refresh_panels()
        self.set_interval(1.0, self._clock_tick, name="clock")
        # series updates repaint at once; this catches a source going overdue (stale) without an answer
        self.set_interval(max(2.0, self.profile.cockpit.refresh), self.refresh_panels, name="staleness")
        if self.ready_file:
            self.call_after_refresh(self._write_ready)
        if self.controller is not None:
            self._wire(self.controller)
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
        self.screen.set_class(compact, "-compact")
        self.screen.set_class(tiny, "-tiny")
        if tiny:
            self.query_one("#too-small", Static).update(
                f"terminal too small ({width}x{height}): the cockpit needs at least {MIN_WIDTH}x{MIN_HEIGHT}"
            )
        for panel in self.query(SignalPanel):
            panel.compact = compact

    # -- the controller ----------------------------------------------------------------------
    @property
    def _session(self) -> Any:
        """The session drawn: the controller's (it replaces it when following a journal) or a fixed one."""
        if self.controller is not None:
            return self.controller.session
        return self._fixed_session

    def _wire(self, c: Any) -> None:
        self._unsubscribe += [
            c.on_output(self._on_output),
            c.on_step(self._on_step),
            c.on_series(self._on_series),
            c.on_checks(self._on_checks),
            c.on_connection(self._on_connection),
            c.on_journal(self._on_journal),
        ]
        if hasattr(c, "on_driver"):
            self._unsubscribe.append(c.on_driver(self._on_driver))

    @work(exclusive=True, group="controller")
    async def start_controller(self) -> None:
        c = self.controller
        try:
            await c.start()
        except Exception as exc:  # a clear message, never a traceback over the screen
            self.notify(f"cockpit could not start: {exc}", severity="error", timeout=30)
            return
        self.read_only = self.read_only or not c.is_driver
        self.query_one(Checklist).read_only = self.read_only
        for notice in c.notices:
            self.notify(notice, timeout=15)
            if notice.startswith("resumed session") and c.session.rollback_started is not None:
                self.note = f"resumed session from {clock(c.session.rollback_started)[:5]}"
        self.refresh_steps()
        self.refresh_checks()
        self.refresh_panels()
        self.refresh_bindings()

    def _on_output(self, line: Any) -> None:
        # the driver's own lines, or (observer) the lines the driver published in its feed
        if self.controller is not None:
            self._live_output.add(line.step_id)
            self.show_output(line.step_id, line.host, line.text, line.stream)

    def _on_driver(self, state: str) -> None:
        """Observer: the driver appeared, died (lock free, session not ended) or left."""
        c = self.controller
        if state == "gone" and c is not None:
            since = clock(c.driver_gone_since)[:8] if c.driver_gone_since else "?"
            how = ("ctrl+p → Take over driving" if not getattr(c, "forced_read_only", True)
                   else f"start `cockpit --profile {self.profile.path}` to take over")
            how += " (same journal, same RTO clock)"
            self.notify(f"driver gone (since {since}): {how}; this cockpit now samples the sources itself",
                        severity="warning", timeout=30)
        self._clock_tick()

    def _on_step(self, step_id: str, result: Any) -> None:
        if result is not None and result.state == "refused":
            self.notify(f"{step_id} refused: {result.reason}", severity="warning", timeout=10)
        elif result is not None and result.state in ("failed", "partial"):
            self.notify(f"{step_id} {result.state}: {result.reason or 'see output'}", severity="error", timeout=10)
        self.refresh_steps()

    def _on_series(self) -> None:
        # sources polled together answer within milliseconds: one repaint for all of them
        if not self._refresh_pending:
            self._refresh_pending = True
            self.set_timer(SERIES_COALESCE, self._coalesced_refresh)

    def _coalesced_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_panels()

    def _on_checks(self, _transitions: Any) -> None:
        self.refresh_checks()

    def _on_connection(self, host: str, event: str, detail: str) -> None:
        if event in ("down", "reconnecting"):
            self.notify(f"{host}: {event} {detail}".strip(), severity="warning", timeout=8)
        self._clock_tick()

    def _on_journal(self, entry: Mapping[str, Any]) -> None:
        kind = entry.get("type")
        observer = self.controller is not None and not self.controller.is_driver
        if observer and kind == "step_output":
            for text in entry.get("lines", entry.get("tail", [])) or []:
                self.show_output(str(entry.get("step")), str(entry.get("host", "?")), str(text))
        elif observer and kind == "step_end" and str(entry.get("step")) not in self._live_output:
            for host in entry.get("hosts", []) or []:
                for text in host.get("tail", []) or []:
                    self.show_output(str(entry.get("step")), str(host.get("host", "?")), str(text))
        if kind in ("step_start", "step_end", "manual_tick", "session_start", "session_resume"):
            self.refresh_steps()
        if kind in ("rollback_start", "rollback_end", "session_start", "session_resume"):
            self._clock_tick()
        if kind == "check_transition" and observer:
            self.refresh_checks()
        if kind == "handoff_offered" and observer and entry.get("to") == _whoami().split("@")[0]:
            self.push_screen(
                YesNoScreen(f"{entry.get('by')} offers you the wheel: take over driving?", yes="Take over",
                            detail="Same journal, same RTO clock; the lock moves to you."),
                lambda yes: self._accept_handoff() if yes else None)
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
        self.push_screen(HandOverScreen(), lambda user: self._hand_over(user) if user else None)

    @work(exclusive=True, group="pair")
    async def _hand_over(self, user: str) -> None:
        c = self.controller
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

    # -- what is drawn (also fed directly by tests and the screenshot script) ----------------
    def show_signal(self, signal_id: str, view: Any) -> None:
        """Fixed data: draw ``view`` (a SignalView) on ``signal_id``'s panel."""
        self._views[signal_id] = view
        self.refresh_panels()

    def show_checks(self, states: Iterable[Any]) -> None:
        """Fixed data: the check states (CheckState) to draw."""
        self._checks = list(states)
        self.refresh_checks()

    def show_session(self, session: Any) -> None:
        """Fixed data: a Session (steps, ticks, rollback clock) to draw."""
        self._fixed_session = session
        self.refresh_steps()
        self._clock_tick()

    def show_output(self, step_id: str, host: str, text: str, stream: str = "stdout") -> None:
        self.query_one(LogPane).add(LogLine(step_id, host, text, stream))

    def _view(self, signal_id: str, now: float) -> Any | None:
        store = getattr(self.controller, "store", None)
        if store is not None:
            try:
                return store.view(signal_id, now)
            except KeyError:
                return None
        return self._views.get(signal_id)

    def refresh_panels(self) -> None:
        now = self.clock()
        started = self._rollback_times()[0]
        for sig in self._signals:
            view = self._view(sig.id, now)
            panel = self.query_one(f"#panel-{sig.id}", SignalPanel)
            data = present.panel_data(
                self.profile, sig, view, now, rollback_started=started,
                workers=self._worker_counts(sig, now), notes=self._notes(sig, now),
                check_status=self._check_status.get(check.id) if (check := present.check_for(self.profile, sig.id)) else None,
            )
            old = panel.data
            if old is None or replace(data, now=old.now) != old:  # repaint only what changed
                panel.data = data

    def _notes(self, sig: SignalSpec, now: float) -> tuple[str, ...]:
        """A history panel shows the latency of the same probe when a signal measures it."""
        if sig.view != "history":
            return ()
        out = []
        for other in self.profile.signals:
            if other.source == sig.source and other.id != sig.id and other.field_ == "latency":
                view = self._view(other.id, now)
                latest = view.latest() if view is not None else {}
                if latest:
                    value = next(iter(latest.values()))
                    out.append(f"latency {number(value, other.unit or 's', other.scale)}")
        return tuple(out)

    def _worker_counts(self, sig: SignalSpec, now: float) -> dict[str, float]:
        if not sig.workers_signal:
            return {}
        view = self._view(sig.workers_signal, now)
        return view.latest() if view is not None and view.stale_since is None else {}

    def refresh_checks(self) -> None:
        states = self._checks
        engine = getattr(self.controller, "checks", None)
        if states is None and engine is not None:
            states = engine.states()
        if not states:
            return
        rows: list[CheckRow] = []
        self._check_status = {st.check_id: st.status for st in states}
        for st in states:
            unit, scale = self._units.get(st.check_id, ("", 1.0))
            rows.append(present.check_row(st, unit, scale))
        self.query_one(Checklist).checks = tuple(rows)

    def refresh_steps(self) -> None:
        session = self._session
        if session is None:
            return
        running = getattr(self.controller, "running", {}) if self.controller is not None else {}
        rows = []
        for step in self.profile.steps:
            record = session.steps.get(step.id)
            live = running.get(step.id)
            done = live.progress[0] if live is not None else None
            rows.append(present.step_row(self.profile, step, record, session.ticks.get(step.id, ()), done))
        self.query_one(Checklist).steps = tuple(rows)

    def _header_note(self) -> str:
        c = self.controller
        if c is not None and getattr(c, "driver_state", "") == "gone":
            since = getattr(c, "driver_gone_since", None)
            gone = f"driver gone (since {clock(since)[:8] if since else '?'}), sampling here"
            return f"{gone} · {self.note}" if self.note else gone
        return self.note

    def _rollback_times(self) -> tuple[float | None, float | None]:
        if self._session is not None:
            return self._session.rollback_started, self._session.rollback_ended
        return None, None

    def _clock_tick(self) -> None:
        now = self.clock()
        started, ended = self._rollback_times()
        holder = getattr(self.controller, "lock_holder", None) if self.controller is not None else None
        header = self.query_one(CockpitHeader)
        info = HeaderInfo(
            name=self.profile.cockpit.name,
            environment=self.profile.cockpit.environment,
            read_only=self.read_only,
            user_host=self.user_host,
            now=now if started is not None and ended is None else 0.0,  # the clock only moves while it runs
            lock_holder=holder.describe() if holder is not None else None,
            rto_budget=self.profile.cockpit.rto,
            rollback_started=started,
            rollback_ended=ended,
            start_key=keys.display(keys.app_key(self.profile, "start_rollback")),
            note=self._header_note(),
            connections=self._connections(),
            lock_scope=str(getattr(self.controller, "lock_scope", "") or "") if self.controller is not None else "",
        )
        if info != header.info:  # repaint only on change: an idle cockpit stays idle
            header.info = info
        checklist = self.query_one(Checklist)
        running = bool(getattr(self.controller, "running", None)) or bool(
            self._session is not None and self._session.running
        )
        if running or (started is not None and ended is None):  # elapsed times and countdowns move
            checklist.now = now
        if started is not None:
            self._tick_deadlines(now, started)

    def _tick_deadlines(self, now: float, started: float) -> None:
        """Move the ``within`` countdowns (the chart itself is cached: only its headline changes)."""
        for sig in self._signals:
            check = present.check_for(self.profile, sig.id)
            if check is None or check.within is None:
                continue
            panel = self.query_one(f"#panel-{sig.id}", SignalPanel)
            if panel.data is not None:
                ok = self._check_status.get(check.id) == "ok"
                panel.data = replace(panel.data, now=now, deadline=None if ok else started + check.within)

    def _connections(self) -> str:
        pool = getattr(self.controller, "pool", None)
        if pool is None:
            return ""
        hosts = sorted({h for group in self.profile.hosts.values() for h in group})
        if not hosts:
            return ""
        up = sum(1 for h in hosts if _safe_state(pool, h) == "connected")
        return f"ssh {up}/{len(hosts)} connected"

    # -- keys --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Step keys and rollback are greyed out (shown, disabled) in a read-only cockpit."""
        if action in ("fire", "start_rollback", "cancel_step"):
            if len(self.screen_stack) > 1:
                return False  # a modal is open: it is the only thing keys act on
            if self.read_only:
                return None
        return True

    def on_key(self, event: Key) -> None:
        """A disabled step key in read-only mode explains why nothing happens."""
        acting = (keys.app_key(self.profile, "start_rollback"), keys.app_key(self.profile, "cancel_step"))
        if self.read_only and len(self.screen_stack) == 1 and (event.key in self.step_keys or event.key in acting):
            self.notify("read-only session: nothing can be fired from this cockpit", severity="warning")
            event.stop()

    def _debounced(self, name: str) -> bool:
        """True when ``name`` was pressed less than DEBOUNCE seconds ago (ignore this press)."""
        now = self.debounce_clock()
        last = self._last_press.get(name)
        self._last_press[name] = now
        return last is not None and now - last < DEBOUNCE

    def _dialog_open(self) -> bool:
        """One of our modals is open (the command palette, which opens over them, does not count)."""
        return any(not isinstance(s, CommandPalette) for s in self.screen_stack[1:])

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification passes the controller's redactor, and is plain text by default.

        Reasons quote server answers and exception text: redacting here covers every path to
        the screen at once, and plain text keeps a "[redacted]" or "[1]" from being read as markup.
        """
        if self.controller is not None:
            message, title = self.controller.redact(message), self.controller.redact(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_fire(self, step_id: str) -> None:
        if self.read_only:
            self.notify("read-only session: nothing can be fired from this cockpit", severity="warning")
            return
        if self._dialog_open():   # the palette reaches here past check_action: the open modal acts alone
            self.notify(f"{step_id}: close the open dialog first", severity="warning", timeout=5)
            return
        if self._debounced(f"fire:{step_id}") or self.controller is None:
            return
        step = self.profile.step(step_id)
        c = self.controller
        if step.kind == "manual":
            typed = self.profile.cockpit.environment if step.confirm == "type" else None
            self.push_screen(ManualTickScreen(step.id, step.title, step.note, typed), self._ticked(step_id))
            return
        decision = c.decide(step_id, None, True, False)
        missing = tuple(decision.missing)
        if not decision.allowed and not missing and decision.needs != "type":
            self.notify(f"{step_id}: {decision.reason}", severity="warning", timeout=8)
            return
        if decision.allowed and step.confirm == "none":
            self.run_fire(step_id, None, False)
            return
        if not decision.allowed and not missing:
            # only the typed confirmation is missing: check nothing else refuses with it
            probe = c.decide(step_id, self.profile.cockpit.environment, True, False)
            if not probe.allowed and not probe.missing:
                self.notify(f"{step_id}: {probe.reason}", severity="warning", timeout=8)
                return
        prompt = present.step_prompt(self.profile, step, missing)

        def done(result: Any) -> None:
            if result is not None:
                self.run_fire(step_id, result.confirmation, result.override)

        self.push_screen(ConfirmStepScreen(prompt, lambda: c.preview(step_id, header=False)), done)

    def _ticked(self, step_id: str) -> Callable[[Ticked | None], None]:
        def done(ticked: Ticked | None) -> None:
            if ticked is None or self.controller is None:
                return
            decision = self.controller.tick_manual(step_id, ticked.note, confirmation=ticked.confirmation)
            if not decision.allowed and decision.missing:
                self.push_screen(
                    YesNoScreen(f"{step_id}: {decision.reason}", yes="Override and tick",
                                detail="The override is journalled."),
                    lambda yes: self._tick_override(step_id, ticked, yes),
                )
            elif not decision.allowed:
                self.notify(f"{step_id}: {decision.reason}", severity="warning", timeout=8)
            self.refresh_steps()

        return done

    def _tick_override(self, step_id: str, ticked: Ticked, yes: bool | None) -> None:
        if yes and self.controller is not None:
            decision = self.controller.tick_manual(step_id, ticked.note, override=True,
                                                   confirmation=ticked.confirmation)
            if not decision.allowed:
                self.notify(f"{step_id}: {decision.reason}", severity="warning", timeout=8)
            self.refresh_steps()

    @work(group="steps")
    async def run_fire(self, step_id: str, confirmation: str | None, override: bool) -> None:
        c = self.controller
        try:
            await c.fire(step_id, confirmation=confirmation, yes=True, override=override)
        except Exception as exc:
            self.notify(f"{step_id}: {exc}", severity="error", timeout=15)
        self.refresh_steps()

    def action_start_rollback(self) -> None:
        if self.read_only or self.controller is None or self._debounced("start_rollback"):
            return
        if self.controller.session.rollback_running:
            self.notify("the rollback is already running: the RTO clock counts", timeout=5)
            return

        def done(yes: bool | None) -> None:
            if yes and self.controller is not None:
                if not self.controller.start_rollback():
                    self.notify("could not start the rollback (not the driver?)", severity="warning")
                self._clock_tick()
                self.refresh_panels()

        budget = self.profile.cockpit.rto
        self.push_screen(
            YesNoScreen("Start the rollback now?", yes="Start rollback",
                        detail=f"Starts the RTO clock ({int(budget // 60)} min budget) and journals it."),
            done,
        )

    def action_cancel_step(self) -> None:
        c = self.controller
        if self.read_only:
            self.notify("read-only session: nothing can be cancelled from this cockpit", severity="warning")
            return
        if c is None or not c.running:
            self.notify("no step is running", timeout=4)
            return
        step_id = next(iter(c.running))

        def done(yes: bool | None) -> None:
            if yes:
                c.cancel(step_id)

        self.push_screen(YesNoScreen(f"Cancel {step_id} on every host?", yes="Cancel step"), done)

    def action_cycle_filter(self) -> None:
        log = self.query_one(LogPane)
        seen = log.steps_seen()
        if not seen:
            self.notify("no output yet", timeout=3)
            return
        order: list[str | None] = [None, *seen]
        nxt = order[(order.index(log.step_filter) + 1) % len(order)] if log.step_filter in order else None
        log.set_filter(nxt)

    def action_filter(self) -> None:
        log = self.query_one(LogPane)
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

    def action_help(self) -> None:
        app_keys = [
            (keys.display(keys.app_key(self.profile, action)), label) for action, (label, _s) in keys.ACTIONS.items()
        ]
        step_keys = [(s.key or "", s.id, s.title) for s in self.profile.steps]
        self.push_screen(HelpScreen(app_keys, step_keys, self.read_only))

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
                            detail="The step is cancelled on every host and journalled as cancelled."),
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


def _safe_state(pool: Any, host: str) -> str:
    try:
        return str(pool.state(host))
    except Exception:
        return "unknown"

