"""The controller of a browser visitor (`cockpit serve`): an observer with no way to act.

Every visitor of ``cockpit serve`` gets its own process running the cockpit's
screen on an `ObserverController`. Read-only is enforced here, in the served
process, whatever the screen offers or the browser sends:

- it never takes the driver lock and never opens the journal for writing
  (`read_only` and `forced_read_only` are fixed; `_append` writes nothing);
- every action (fire, tick, start/end the RTO clock, cancel, stop after a batch,
  take over, hand over, accept a handoff, answer an approval) is refused with
  `REFUSAL`, and a step's preview and a one-off sampling (both reach production)
  are refused too;
- it never polls production: it mirrors the driver's published feed, and when no
  driver publishes it shows the last samples going stale ("driver gone") rather
  than multiplying the load by the number of visitors.

The visit itself (joined/left) is recorded by the server process, through
`cockpit.serve_visits`, and journalled by the driver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cockpit.controller import Controller
from cockpit.entries import EntryType
from cockpit.guard import Action, Decision
from cockpit.lock import LockHolder
from cockpit.profile.model import Profile
from cockpit.results import StepResult

REFUSAL = "served read-only (cockpit serve): nothing can be fired, ticked, approved, started or ended from a browser"


class ServedReadOnly(PermissionError):
    """An action was asked of a served observer."""

    def __init__(self) -> None:
        super().__init__(REFUSAL)


class ObserverController(Controller):
    """A `Controller` that follows the driver and can do nothing else."""

    #: the screen reads this: a served observer never samples production itself
    polls_sources = False

    def __init__(self, profile: Profile, *, fresh: bool = False, **kw: Any) -> None:
        super().__init__(profile, read_only=True, fresh=fresh, **kw)
        self.read_only = True
        self.forced_read_only = True
        self.refused: list[str] = []      # what was asked and refused (the tests read it)

    def _refuse(self, what: str) -> None:
        self.refused.append(what)

    # -- never drives, never writes ----------------------------------------------------------
    async def start(self, connect: bool = True, poll: bool = True) -> None:
        """Follow the driver only: no SSH, no polling of production; checks still age on a clock."""
        self.read_only = self.forced_read_only = True
        await super().start(connect=False, poll=False)
        self._background.append(asyncio.create_task(self._tick(), name="check-tick"))

    def _append(self, type_: EntryType, *, hold: bool = True, **data: Any) -> dict[str, Any] | None:
        return None

    def _open_journal(self, path: Any = None, handoff_from: str | None = None) -> None:
        raise ServedReadOnly()

    def _start_publishing(self) -> None:
        raise ServedReadOnly()

    def _make_runner(self) -> None:
        raise ServedReadOnly()

    def _make_poller(self) -> None:
        """Never: a visitor's process does not reach production."""

    # -- every action is refused -------------------------------------------------------------------
    def decide(self, step_id: str, confirmation: str | None = None, yes: bool = False,
               override: bool = False, action: Action = "fire") -> Decision:
        step = self.profile.step(step_id)
        return Decision(False, REFUSAL, needs=step.confirm)

    async def fire(self, step_id: str, *, confirmation: str | None = None, yes: bool = False,
                   override: bool = False, hosts: Sequence[str] | None = None,
                   note: str | None = None) -> StepResult:
        self._refuse(f"fire {step_id}")
        now = self.now()
        result = StepResult(step_id, "refused", None, now, now, reason=REFUSAL)
        self._emit("step", step_id, result)
        return result

    def tick_manual(self, step_id: str, note: str = "", override: bool = False,
                    confirmation: str | None = None) -> Decision:
        self._refuse(f"tick {step_id}")
        return self.decide(step_id)

    def start_rollback(self) -> bool:
        self._refuse("start_rollback")
        return False

    def end_rollback(self) -> bool:
        self._refuse("end_rollback")
        return False

    def cancel(self, step_id: str) -> bool:
        self._refuse(f"cancel {step_id}")
        return False

    def stop_after_batch(self, step_id: str) -> bool:
        self._refuse(f"stop_after_batch {step_id}")
        return False

    async def preview(self, step_id: str, *, header: bool = True) -> str:
        self._refuse(f"preview {step_id}")
        return REFUSAL

    async def sample_now(self) -> None:
        self._refuse("sample_now")

    async def take_over(self, connect: bool = True) -> LockHolder:
        self._refuse("take_over")
        raise ServedReadOnly()

    async def hand_over(self, to_user: str, timeout: float = 60.0) -> bool:
        self._refuse("hand_over")
        return False

    async def accept_handoff(self, connect: bool = True, timeout: float = 30.0) -> LockHolder:
        self._refuse("accept_handoff")
        raise ServedReadOnly()

    def handoff_offer(self) -> LockHolder | None:
        return None

    def pending_approvals(self) -> list[Any]:
        """None to answer here: a browser visitor is not the second person of the two-person rule."""
        return []

    def answer_approval(self, step_id: str, *, confirmation: str | None, approve: bool = True,
                        reason: str = "") -> Any:
        self._refuse(f"answer_approval {step_id}")
        raise ServedReadOnly()
