"""The one typed way into the TUI: what a screen reads, and the events it is told about.

Two things implement `Feed`: the live `Controller` and the fixed scenes
(`cockpit.tui.scenes.FixedFeed`) used by snapshots and screenshots. The app
reads nothing else, and probes nothing: every field it draws is here.

Events are plain frozen values. A feed calls its subscribers synchronously
(the controller does so after the journal has the entry on disk); the app's
subscriber only *posts* a Textual message, so nothing the screen does can run
inside a journal write or break it.

`FeedStatus` holds the facts about the incident that are not series, checks or
steps: who holds the lock, the SSH connections, and room for what other parts
add (lock scope, a broken journal, a driver gone, approvals) as plain fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cockpit.checks import CheckState
from cockpit.profile.model import Profile
from cockpit.results import OutputLine, StepResult
from cockpit.series import SignalView
from cockpit.session import Session


@dataclass(frozen=True)
class FeedStatus:
    """Who drives and how the incident's plumbing is (all plain values, drawn as they are)."""

    is_driver: bool = False
    read_only: bool = False
    lock_holder: str | None = None      # "deploy@bastion-1 (pid 123, since 10:00)"
    lock_scope: str = ""                # e.g. "bastion-wide" / "this user only"
    connections: str = ""               # "ssh 3/4 connected"
    journal_path: str | None = None
    journal_error: str | None = None    # set while the journal cannot be written
    driver_gone: bool = False           # observers: the driver's cockpit stopped
    approvals: tuple[str, ...] = ()     # pending approvals, worded
    forecast: str = ""                  # during a rollback: "projected done 12:41 — budget 12:45"
    forecast_warning: str | None = None  # set when the remaining critical path no longer fits the RTO


@dataclass(frozen=True)
class OutputEvent:
    line: OutputLine


@dataclass(frozen=True)
class StepEvent:
    """A step started or progressed (``result`` None) or ended (its result)."""

    step_id: str
    result: StepResult | None


@dataclass(frozen=True)
class SeriesEvent:
    """New samples were recorded."""


@dataclass(frozen=True)
class ChecksEvent:
    transitions: tuple[Any, ...]


@dataclass(frozen=True)
class ConnectionEvent:
    host: str
    event: str
    detail: str


@dataclass(frozen=True)
class JournalEvent:
    """A journal entry, written by this cockpit or followed from the driver's file."""

    entry: Mapping[str, Any]


@dataclass(frozen=True)
class JournalProblemEvent:
    """The journal cannot be written (``problem`` says why; nothing is fired meanwhile), or None: it can again."""

    problem: str | None


@dataclass(frozen=True)
class DriverEvent:
    """Observers: the driver is ``driving``, ``gone`` (died: lock free, session not ended) or ``none``."""

    state: str


FeedEvent = (OutputEvent | StepEvent | SeriesEvent | ChecksEvent | ConnectionEvent | JournalEvent
             | JournalProblemEvent | DriverEvent)
Sink = Callable[[FeedEvent], None]


class RunningLike(Protocol):
    @property
    def progress(self) -> tuple[int, int]: ...


class Feed(Protocol):
    """What the cockpit's screen reads."""

    profile: Profile

    @property
    def session(self) -> Session: ...

    @property
    def running(self) -> Mapping[str, RunningLike]: ...

    def signal_view(self, signal_id: str, now: float) -> SignalView | None: ...

    def check_states(self) -> Sequence[CheckState]: ...

    def check_history(self, check_id: str) -> Sequence[tuple[float, str]]: ...

    def status(self) -> FeedStatus: ...

    def subscribe(self, sink: Sink) -> Callable[[], None]: ...
