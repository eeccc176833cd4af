"""The app's actions on steps: fire (guard first, confirmation, preview), tick, start the rollback,
cancel. A base class of `CockpitApp`, kept apart so the app module is about drawing.

Every action asks the controller's guard first and says why nothing happens when it refuses;
a destructive or typed step always goes through the confirmation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.command import CommandPalette

from cockpit.kinds import step_kind
from cockpit.profile.model import Profile
from cockpit.tui import present
from cockpit.tui.screens import ConfirmStepScreen, ManualTickScreen, Ticked, YesNoScreen

if TYPE_CHECKING:
    from cockpit.controller import Controller

DEBOUNCE = 1.0  # seconds: a second press of a destructive key within this is ignored


class StepActions(App[int]):
    """Firing, ticking, starting and cancelling; the app supplies the drawing (``refresh_*``)."""

    profile: Profile
    controller: Controller | None
    read_only: bool
    debounce_clock: Callable[[], float] = time.monotonic
    _last_press: dict[str, float]

    def refresh_steps(self) -> None:  # drawn by the app
        raise NotImplementedError

    def refresh_panels(self) -> None:
        raise NotImplementedError

    def _clock_tick(self) -> None:
        raise NotImplementedError

    def _debounced(self, name: str, what: str) -> bool:
        """True when ``name`` was pressed less than DEBOUNCE seconds ago: this press is ignored, and
        the screen says so (a press that silently does nothing reads as a dead key)."""
        now = self.debounce_clock()
        last = self._last_press.get(name)
        self._last_press[name] = now
        if last is None or now - last >= DEBOUNCE:
            return False
        self.notify(f"{what}: pressed again within {DEBOUNCE:g} s, ignored so that a double press never "
                    "acts twice; wait a second and press again", severity="warning", timeout=5)
        return True

    def _dialog_open(self) -> bool:
        """One of our modals is open (the command palette, which opens over them, does not count)."""
        return any(not isinstance(s, CommandPalette) for s in self.screen_stack[1:])

    def action_fire(self, step_id: str) -> None:
        if self.read_only:
            self.notify("read-only session: nothing can be fired from this cockpit", severity="warning")
            return
        if self._dialog_open():   # the palette reaches here past check_action: the open modal acts alone
            self.notify(f"{step_id}: close the open dialog first", severity="warning", timeout=5)
            return
        if self._debounced(f"fire:{step_id}", step_id) or self.controller is None:
            return
        step = self.profile.step(step_id)
        c = self.controller
        if step_kind(step.kind).ticked:
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
        prompt = present.step_prompt(self.profile, step, missing, c.session)

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
                                detail="The override is journalled.", safe_default=True),
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
        assert c is not None
        try:
            await c.fire(step_id, confirmation=confirmation, yes=True, override=override)
        except Exception as exc:
            self.notify(f"{step_id}: {exc}", severity="error", timeout=15)
        self.refresh_steps()

    def action_start_rollback(self) -> None:
        if self.read_only or self.controller is None or self._debounced("start_rollback", "start the rollback"):
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
                self.refresh_steps()

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
            if yes and step_id in c.running:
                c.cancel(step_id)

        self.push_screen(YesNoScreen(f"Cancel {step_id} on every host?", yes="Cancel step", about_step=step_id,
                                     detail="Closes by itself if the step ends first."), done)

    def _batched_running(self) -> str | None:
        """The running step that rolls out in batches (the first, if several)."""
        c = self.controller
        if c is None:
            return None
        return next((sid for sid, run in c.running.items() if getattr(run, "batch", None) is not None), None)

    def action_stop_after_batch(self) -> None:
        """A rolling step stops once its running batch ends (the rest skipped); ctrl+k stops at once."""
        c = self.controller
        if self.read_only:
            self.notify("read-only session: nothing can be stopped from this cockpit", severity="warning")
            return
        step_id = self._batched_running()
        if c is None or step_id is None:
            self.notify("no step is rolling out in batches", timeout=4)
            return
        if not c.stop_after_batch(step_id):
            self.notify(f"{step_id}: not rolling out in batches any more", timeout=4)
            return
        batch = c.running[step_id].batch if step_id in c.running else None
        which = f"batch {batch[0]} of {batch[1]}" if batch else "the running batch"
        self.notify(f"{step_id}: stops after {which} ends; the remaining hosts are skipped "
                    f"(cancel stops at once)", timeout=10)
        self.refresh_bindings()
