"""The guard: the ONE place that decides whether a step may run.

Order of the rules (the first that refuses wins): read-only, driver lock,
a journal that cannot be written (never act without a record), a tick of a step that is not manual, already running, ``after`` preconditions
(unless overridden), confirmation.
The guard decides only; the controller journals refusals and overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from cockpit.kinds import step_kind
from cockpit.profile.model import StepSpec
from cockpit.session import Session

Needs = Literal["none", "yes", "type"]
Action = Literal["fire", "tick"]


class LockLike(Protocol):
    @property
    def held(self) -> bool: ...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    missing: tuple[str, ...] = ()     # `after` steps that have not succeeded
    needs: Needs = "none"             # the confirmation this step asks for
    override: bool = False            # allowed only because of an override (journal it)


class Guard:
    def __init__(self, environment: str, lock_holder: str | None = None,
                 settled: frozenset[str] = frozenset()) -> None:
        self.environment = environment
        self.lock_holder = lock_holder   # "locked by alice@… since …", shown when we do not hold the lock
        # steps that count as done for `after` although they failed: a silence/annotation not `required`
        self.settled = settled

    def decide(
        self,
        step: StepSpec,
        *,
        session: Session,
        read_only: bool,
        lock: LockLike | None,
        confirmation: str | None,
        yes: bool,
        override: bool,
        action: Action = "fire",
        journal_problem: str | None = None,
    ) -> Decision:
        needs: Needs = step.confirm
        if read_only:
            return Decision(False, "read-only mode: nothing can be fired from this cockpit", needs=needs)
        if lock is None or not lock.held:
            who = self.lock_holder or "the driver lock is not held by this cockpit"
            return Decision(False, f"not the driver: {who}", needs=needs)
        if journal_problem is not None:
            return Decision(False, f"journal cannot be written: {journal_problem}", needs=needs)
        if action == "tick" and not step_kind(step.kind).ticked:
            # a tick marks the step done without running it: only a person's step may be ticked
            return Decision(False, f"{step.id} is a {step.kind} step: only manual steps are ticked "
                            "(fire it instead)", needs=needs)
        if step.id in session.running:
            return Decision(False, f"{step.id} is already running", needs=needs)
        missing = tuple(a for a in step.after if a not in session.done and a not in self.settled)
        if missing and not override:
            names = ", ".join(missing)
            return Decision(False, f"waiting for {names}: {'it has' if len(missing) == 1 else 'they have'} "
                            "not succeeded (fire it first, or override)", missing=missing, needs=needs)
        if confirmation is not None and not confirmation.strip():
            # an empty typed name confirms nothing, even against a profile whose environment is empty
            return Decision(False, "an empty confirmation confirms nothing: type the environment name "
                            f"({self.environment or 'the profile names none'})", missing=missing, needs=needs)
        if confirmation is not None and confirmation != self.environment:
            # whatever the step asks for: a confirmation naming another environment means the wrong profile
            return Decision(False, f"confirmation {confirmation!r} does not match the environment "
                            f"{self.environment!r}", missing=missing, needs=needs)
        if step.confirm == "type":
            if confirmation is None:
                return Decision(False, f"type the environment name ({self.environment}) to confirm",
                                missing=missing, needs=needs)
        elif step.confirm == "yes" and not (yes or confirmation is not None):
            return Decision(False, "needs confirmation (headless: --yes)", missing=missing, needs=needs)
        if missing:
            return Decision(True, f"override: {', '.join(missing)} had not succeeded", missing=missing,
                            needs=needs, override=True)
        return Decision(True, "ok", needs=needs)
