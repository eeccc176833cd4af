"""Plain result values shared by the runner, the guard, the journal, the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

HostState = Literal["ok", "failed", "timeout", "unreachable", "cancelled", "skipped", "refused"]
StepState = Literal["idle", "running", "ok", "failed", "partial", "cancelled", "refused"]


@dataclass(frozen=True)
class OutputLine:
    """One line of output from one host (``stream`` is ``stdout`` or ``stderr``)."""

    step_id: str
    host: str
    stream: str
    text: str
    ts: float


@dataclass(frozen=True)
class HostResult:
    host: str
    state: HostState
    exit_status: int | None
    duration: float
    tail: tuple[str, ...] = ()
    error: str | None = None
    verify_ok: bool | None = None
    verify_exit_status: int | None = None


@dataclass(frozen=True)
class StepResult:
    step_id: str
    state: StepState
    command: str | None
    started: float
    ended: float
    hosts: tuple[HostResult, ...] = ()
    reason: str | None = None
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "ok"
