"""The replay screen: the cockpit's own app driven by a `cockpit.replay.ReplayFeed`.

Not a second UI: `ReplayApp` is `CockpitApp` with a replay feed and no controller, so
panels, checklist, output pane and RTO clock are drawn by the code that draws a live
incident. It adds a clock that plays the recording at a chosen speed, the keys that move
it (pause, speed, next/previous event, start/end), and a bar that says where it is and
what is missing from the recording. Nothing can fire, tick, approve, hand over or take
over: there is no controller to do it with, and those actions are refused here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import Mount
from textual.widgets import Static

from cockpit.replay import ReplayFeed
from cockpit.tui.app import CockpitApp
from widgets.fmt import clock, mmss

SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)
TICK = 0.2  # seconds between replay clock steps while playing
# (key, action, footer label): priority bindings, so no step key of the profile shadows them
REPLAY_KEYS = (
    ("space", "replay_pause", "Play/pause"),
    ("right", "replay_next", "Next event"),
    ("left", "replay_back", "Prev event"),
    ("plus", "replay_faster", "Faster"),
    ("minus", "replay_slower", "Slower"),
    ("home", "replay_start", "Start"),
    ("end", "replay_end", "End"),
)
NOT_IN_REPLAY = frozenset({"fire", "start_rollback", "cancel_step", "hand_over", "take_over"})


def speed_text(speed: float) -> str:
    return f"{speed:g}×"


class ReplayApp(CockpitApp):
    """`cockpit replay JOURNAL`: the recorded incident on the cockpit's screen, read-only."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding(key, action, label, priority=True, id=action) for key, action, label in REPLAY_KEYS]
    CSS = CockpitApp.CSS + """
    #replay-bar { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    """

    def __init__(self, profile: Any, feed: ReplayFeed, *, speed: float = 1.0, paused: bool = False,
                 at: float | None = None, monotonic: Callable[[], float] = time.monotonic, **kw: Any) -> None:
        super().__init__(profile, feed=feed, read_only=True, clock=lambda: feed.position, **kw)
        self.replay = feed
        self.speed = speed
        self.playing = not paused
        self.monotonic = monotonic
        self._last: float | None = None
        self._start_at = at

    def on_mount(self, event: Mount) -> None:  # type: ignore[override]  # Textual passes the event when asked for
        super().on_mount()          # the cockpit's screen first (its handler is not called again)
        event.prevent_default()
        bar = Static("", id="replay-bar")
        self.mount(bar, after=self.header)
        self.replay_bar = bar
        if self._start_at is not None:
            self.seek(self._start_at)
        self._draw_bar()
        if self.replay.incident.missing:
            shown = self.replay.incident.missing
            self.notify("missing from the recording: " + "; ".join(shown[:6])
                        + (f"; … and {len(shown) - 6} more" if len(shown) > 6 else ""),
                        severity="warning", timeout=30)
        self.set_interval(TICK, self._play_tick, name="replay")

    # -- the replay clock ---------------------------------------------------------------------
    def _play_tick(self) -> None:
        now = self.monotonic()
        last, self._last = self._last, now
        if not self.playing or last is None or self.stopped:
            return
        target = self.replay.position + (now - last) * self.speed
        self.seek(target)
        if self.replay.position >= self.replay.end:
            self.playing = False
            self.notify("end of the recorded incident (← goes back, home to the start)", timeout=8)
            self._draw_bar()

    def seek(self, t: float) -> None:
        """Show the incident as it was at ``t`` (clamped to the recording)."""
        if self.replay.seek(t):
            self._redraw_output()
        self.refresh_all()
        self._draw_bar()

    def _redraw_output(self) -> None:
        """After a jump back: the output pane as it was at the new position (lines and step ends in time order)."""
        self.log_pane.reset()
        self._unseen.clear()
        self._live_output = set()
        t = self.replay.position
        items: list[tuple[float, int, Any]] = [(line.ts, 0, line) for line in self.replay.output_until()]
        for entry in self.replay.incident.entries:
            if float(entry["ts"]) > t:
                break
            if entry.get("type") == "step_end":
                items.append((float(entry["ts"]), 1, entry))
        for _ts, kind, item in sorted(items, key=lambda x: (x[0], x[1])):
            if kind == 0:
                self.show_output(item.step_id, item.host, item.text, item.stream)
            else:
                self._step_end_output(item)

    def _step_end_output(self, entry: Any) -> None:
        """What a step's end adds to the output pane: the tails of hosts without a recording, its failure lines."""
        step = str(entry.get("step"))
        recorded = self.replay.incident.recorded_hosts
        for host in entry.get("hosts", []) or []:
            name = str(host.get("host", "?")) if isinstance(host, dict) else "?"
            if (step, name) not in recorded and isinstance(host, dict):
                for text in host.get("tail", []) or []:
                    self.show_output(step, name, str(text))
        self._live_output.add(step)
        self.show_step_end(entry)

    def _draw_bar(self) -> None:
        if not hasattr(self, "replay_bar"):
            return
        r = self.replay
        state = "▶" if self.playing else "⏸"
        done = max(0.0, r.position - r.start)
        parts = [
            (f" {state} REPLAY {speed_text(self.speed)} ", "bold reverse $accent"),
            (f"  {clock(r.position)}", "bold"),
            (f"  {mmss(done)} / {mmss(max(0.0, r.end - r.start))} of the recording", "$text-muted"),
            ("   space play/pause · ←/→ events · +/− speed · home/end", "$text-muted"),
        ]
        text = Content.assemble(*parts)
        if r.incident.missing:
            missing = "; ".join(r.incident.missing[:3]) + (f"; +{len(r.incident.missing) - 3} more"
                                                             if len(r.incident.missing) > 3 else "")
            text = Content("\n").join([text, Content.assemble(("missing: ", "bold $warning"), (missing, "$warning"))])
        self.replay_bar.update(text)

    # -- keys ------------------------------------------------------------------------------------
    def action_replay_pause(self) -> None:
        if not self.playing and self.replay.position >= self.replay.end:
            self.seek(self.replay.start)     # play again from the start
        self.playing = not self.playing
        self._last = self.monotonic()
        self._draw_bar()

    def action_replay_next(self) -> None:
        t = self.replay.next_event()
        if t is None:
            self.notify("no later event: this is the end of the recording", timeout=4)
            return
        self.seek(t)

    def action_replay_back(self) -> None:
        t = self.replay.previous_event()
        self.seek(t if t is not None else self.replay.start)

    def action_replay_faster(self) -> None:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)
        self._draw_bar()

    def action_replay_slower(self) -> None:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)
        self._draw_bar()

    def action_replay_start(self) -> None:
        self.seek(self.replay.start)

    def action_replay_end(self) -> None:
        self.seek(self.replay.end)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NOT_IN_REPLAY:
            return False
        return super().check_action(action, parameters)

    def action_hand_over(self) -> None:
        self.notify("a replay cannot hand over: it only shows a recorded incident", severity="warning")

    def action_take_over(self) -> None:
        self.notify("a replay cannot take over: it only shows a recorded incident", severity="warning")

    def _journal_event(self, entry: Any) -> None:
        """Recorded entries drawn as an observer sees them; requests that asked someone to act are only shown."""
        kind = entry.get("type")
        if kind in ("handoff_offered", "approval_requested"):
            self.show_output(str(entry.get("step") or "-"), "⟲",
                             f"{kind.replace('_', ' ')} by {entry.get('by') or '?'} (recorded; nothing to answer)")
            self.refresh_steps()
            return
        if kind == "step_end":
            self._step_end_output(entry)        # tails only where the recording is missing
            self.refresh_steps()
            return
        super()._journal_event(entry)

