"""What a step executor knows about the incident when it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cockpit.profile.model import Profile


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class IncidentFacts:
    """Facts templates may use as ``{placeholders}`` (all plain, none secret)."""

    profile: str
    environment: str
    driver: str
    rollback_started: float | None
    rollback_ended: float | None
    rto_budget: float
    rto_elapsed: float | None
    steps_done: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    def placeholders(self) -> dict[str, str]:
        """String values for ``str.format_map`` templating."""
        from cockpit.durations import format_duration

        def iso(ts: float | None) -> str:
            import datetime as dt

            if ts is None:
                return "(not started)"
            return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

        from cockpit.escape import one_line

        # every value is one line, except {checks}: one line per check (the user@host of the
        # driver or a check's text must not add lines to a message); each message's format
        # escapes them further
        return {
            "profile": one_line(self.profile),
            "environment": one_line(self.environment),
            "driver": one_line(self.driver),
            "started": iso(self.rollback_started),
            "ended": iso(self.rollback_ended),
            "rto_budget": format_duration(self.rto_budget),
            "rto_elapsed": format_duration(self.rto_elapsed) if self.rto_elapsed is not None else "-",
            "steps_done": one_line(", ".join(self.steps_done) or "(none)"),
            "checks": "\n".join(one_line(c) for c in self.checks) or "(none)",
        }


@dataclass(frozen=True)
class StepContext:
    profile: Profile
    facts: IncidentFacts
    redact: Callable[[str], str] = field(default=_identity)
    journal_path: str | None = None
    note: str | None = None  # manual steps: the note typed when the step was ticked
    # local steps: told (pid, process group, watchdog pid) once the command runs, to journal them
    on_process: Callable[[int, int, int | None], None] | None = None

