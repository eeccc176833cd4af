"""The controller: the one object the TUI and the headless commands hold.

It wires the parts: the driver lock, the journal (open or resume), the guard,
the executors (the runner for ssh steps, `cockpit.steps` for the others), the
poller, the series store and the check engine. Every action goes
guard -> journal -> execute -> journal, and listeners hear about it only
after the journal has it on disk.

A journal write that fails (disk full, I/O error) never goes unnoticed: the
controller keeps going (monitoring, cancelling), says so (`journal_problem`,
`on_journal_problem`, a notice), and the guard refuses every step and tick
until a write succeeds again; each action retries first. Never act without a
record.

A read-only controller (flag or profile) never takes the lock, never writes
the journal and never creates an SSH pool: it follows the driver's journal
(`JournalFollower`, the file the lock names) to show the same session, and
draws the panels from the driver's published feed (`cockpit.published`) instead of
polling production itself; only when there is no live driver does it poll
the sources on its own (`sampling` says which). A driver that finds the lock
held behaves the same way, and the guard names the holder. An observer that
sees the lock free while the journal says a driver is attached shows "driver
gone (since …)" (`driver_gone_since`) and may `take_over()` (not with
``--read-only``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cockpit import approval as approvals
from cockpit import handoff, procs
from cockpit.checks import CheckEngine
from cockpit.durations import format_duration
from cockpit.entries import EntryType
from cockpit.feed import (
    ChecksEvent,
    ConnectionEvent,
    DriverEvent,
    FeedEvent,
    FeedStatus,
    JournalEvent,
    JournalProblemEvent,
    OutputEvent,
    SeriesEvent,
    StepEvent,
)
from cockpit.follow import RESCAN, OpenJournals, RecordingFollower, inside
from cockpit.forecast import Projection, StepStats, project, step_stats
from cockpit.freshness import json_number
from cockpit.guard import Action, Decision, Guard
from cockpit.held import HeldManager
from cockpit.journal import (
    Journal,
    JournalWriteError,
    find_open_session,
    read_journal,
    redactor_for,
    session_start_fields,
)
from cockpit.kinds import names_of, step_kind, step_kinds
from cockpit.lock import DriverLock, LockHeld, LockHolder, inspect, read_holder
from cockpit.profile.model import Profile, StepSpec
from cockpit.published import FeedMirror, FeedReader, FeedWriter
from cockpit.recording import Recorder, StepRecording
from cockpit.results import HostResult, OutputLine, StepResult
from cockpit.secrets import redact_lines
from cockpit.series import SeriesStore
from cockpit.session import JournalFollower, Session
from cockpit.state import StateDir, StateError, profile_key, state_for, whoami
from cockpit.steps.context import IncidentFacts, StepContext
from cockpit.targets import where_it_runs

log = logging.getLogger(__name__)

TAIL_LINES = 20
STOP_GRACE = 15.0   # seconds stop() waits for cancelled steps to journal their ends
Listener = Callable[..., None]


@dataclass
class RunningStep:
    step_id: str
    started: float
    hosts: tuple[str, ...]
    done: dict[str, HostResult] = field(default_factory=dict)
    batch: tuple[int, int] | None = None   # (batch running or last run, batches) of a batched step
    active: tuple[str, ...] | None = None  # a batched step: the hosts of the batch out (None: every host)
    active_since: float | None = None      # when that batch started
    recording: StepRecording | None = None

    @property
    def progress(self) -> tuple[int, int]:
        """(hosts done, hosts total)."""
        return len(self.done), len(self.hosts)


class Controller:
    def __init__(self, profile: Profile, *, read_only: bool = False,
                 now: Callable[[], float] = time.time, fresh: bool = False) -> None:
        """``fresh``: a driver always starts a new journal, an observer follows only a live driver's
        (the demo: every run is a new simulated incident, old demo journals are not it)."""
        self.profile = profile
        self.fresh = fresh
        self.read_only = bool(read_only or profile.cockpit.read_only)
        self.now = now
        self.redact = redactor_for(profile)
        self.session = Session()
        self.journal: Journal | None = None
        self._stats: dict[str, StepStats] | None = None   # step durations of earlier incidents (forecast)
        self._stats_task: asyncio.Task[None] | None = None
        self.recorder: Recorder | None = None      # the evidence folder beside the journal (driver)
        self.state: StateDir = state_for(profile)   # checked: a planted directory raises StateError
        self.lock = DriverLock.for_profile(profile, self.state)
        self.lock_error: LockHeld | None = None
        self.notices: list[str] = []          # things to tell the user once (stale lock, resume)
        self.unrecorded: str | None = None    # set by stop() when held entries could not be written
        self.running: dict[str, RunningStep] = {}
        self.pool: Any = None                  # SshPool, created for a driver only
        self.runner: Any = None
        self.poller: Any = None
        self.store = SeriesStore(profile)
        self.checks = CheckEngine(profile, now())
        self._tasks: dict[str, asyncio.Task[StepResult]] = {}
        self._ended: dict[str, asyncio.Event] = {}     # set once a fired step's end is journalled
        self._background: list[asyncio.Task[Any]] = []
        self._listeners: dict[str, list[Listener]] = {
            k: [] for k in ("output", "step", "series", "checks", "connection", "journal", "journal_problem",
                            "batch", "driver")}
        self._rollouts: dict[str, Any] = {}          # step id -> cockpit.batches.Rollout while it runs
        self._me = whoami()
        self.forced_read_only = self.read_only     # --read-only or the profile: never takes over
        # the driver publishes its samples; observers mirror them
        self.published: FeedWriter | None = None
        self._mirror = FeedMirror(self.store)
        self._feed_reader: FeedReader | None = None
        self._follower: JournalFollower | None = None
        self._recordings: RecordingFollower | None = None   # observers: running steps' output, recorded
        self._follow_task: asyncio.Task[None] | None = None
        self._looked = False        # observers: the first look (history) is done
        self._open_journals = OpenJournals(profile, self.state)
        self._last_scan = float("-inf")
        self._journals_listing: int | None = None
        self._may_poll = True
        self._own_polling = False
        self._observed: LockHolder | None = None
        self.sampling = "none"                     # "driver feed" | "own polling" | "none"
        self.driver_state = "none"                 # "driving" | "gone" | "handover" | "none" (observer's view)
        self.driver_gone_since: float | None = None
        # the two-person rule
        self.waiting_approval: dict[str, approvals.Request] = {}
        self._approval_cancel: dict[str, asyncio.Event] = {}
        self._approval_entries: list[dict[str, Any]] = []
        # things the rollback holds open (silences, the Grafana region): cockpit/held.py (driver only)
        self.held: HeldManager | None = None
        self._held_task: asyncio.Task[None] | None = None

    # -- listeners -------------------------------------------------------------------------
    def _add(self, kind: str, fn: Listener) -> Callable[[], None]:
        self._listeners[kind].append(fn)
        return lambda: self._listeners[kind].remove(fn) if fn in self._listeners[kind] else None

    def on_output(self, fn: Callable[[OutputLine], None]) -> Callable[[], None]:
        return self._add("output", fn)

    def on_step(self, fn: Callable[[str, StepResult | None], None]) -> Callable[[], None]:
        """Called with (step id, None) when a step starts or progresses, (step id, result) when it ends."""
        return self._add("step", fn)

    def on_series(self, fn: Callable[[], None]) -> Callable[[], None]:
        return self._add("series", fn)

    def on_checks(self, fn: Callable[[list[Any]], None]) -> Callable[[], None]:
        """Called with the list of (new, previous) CheckState transitions."""
        return self._add("checks", fn)

    def on_connection(self, fn: Callable[[str, str, str], None]) -> Callable[[], None]:
        return self._add("connection", fn)

    def on_journal(self, fn: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Every journal entry, written by us or (read-only) followed from the driver's file."""
        return self._add("journal", fn)

    def on_journal_problem(self, fn: Callable[[str | None], None]) -> Callable[[], None]:
        """Called with the reason when the journal cannot be written, and with None once it can again."""
        return self._add("journal_problem", fn)

    @property
    def journal_problem(self) -> str | None:
        """Why the journal cannot be written now (None: it can); nothing is fired meanwhile."""
        j = self.journal
        if j is None or j.broken is None:
            return None
        held = f"; {j.pending} entr{'y' if j.pending == 1 else 'ies'} held in memory" if j.pending else ""
        return f"{j.broken}{held}"

    def on_batch(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """Called with a `cockpit.batches.BatchEvent` as a batched step's batches and gates start and end."""
        return self._add("batch", fn)

    def on_driver(self, fn: Callable[[str], None]) -> Callable[[], None]:
        """Observers: called with ``driving``/``gone``/``none`` when the driver appears, dies or leaves."""
        return self._add("driver", fn)

    def _emit(self, kind: str, *args: Any) -> None:
        for fn in list(self._listeners[kind]):
            try:
                fn(*args)
            except Exception:  # a broken listener must not stop the check tick or the poller
                log.exception("%s listener failed", kind)

    # -- the feed (cockpit.feed.Feed): what the TUI reads ---------------------------------
    def subscribe(self, sink: Callable[[FeedEvent], None]) -> Callable[[], None]:
        """Every event as one typed value (`cockpit.feed`); returns the unsubscribe callable."""
        offs = [
            self.on_output(lambda line: sink(OutputEvent(line))),
            self.on_step(lambda step_id, result: sink(StepEvent(step_id, result))),
            self.on_series(lambda *_: sink(SeriesEvent())),
            self.on_checks(lambda transitions: sink(ChecksEvent(tuple(transitions)))),
            self.on_connection(lambda host, event, detail: sink(ConnectionEvent(host, event, detail))),
            self.on_journal(lambda entry: sink(JournalEvent(entry))),
            self.on_journal_problem(lambda problem: sink(JournalProblemEvent(problem))),
            self.on_driver(lambda state: sink(DriverEvent(state))),
        ]

        def unsubscribe() -> None:
            for off in offs:
                off()

        return unsubscribe

    def signal_view(self, signal_id: str, now: float) -> Any:
        try:
            return self.store.view(signal_id, now)
        except KeyError:
            return None

    def check_states(self) -> list[Any]:
        return self.checks.states()

    def check_history(self, check_id: str) -> list[tuple[float, str]]:
        return list(self.checks.history(check_id))

    def status(self) -> FeedStatus:
        holder = self.lock_holder
        return FeedStatus(
            is_driver=self.is_driver, read_only=self.read_only,
            lock_holder=holder.describe() if holder is not None else None,
            connections=self._connections_text(),
            journal_path=str(self.journal.path) if self.journal is not None else None,
            journal_error=self.journal_problem,
            lock_scope=self.lock_scope,
            driver_gone=self.driver_state == "gone",
            approvals=tuple(f"{r.step} waits for approval (requested by {r.by})" for r in self.pending_approvals()),
            **self._forecast_fields(),
        )

    def _forecast_fields(self) -> dict[str, Any]:
        """The forecast for the screen: only during a rollback, once the earlier incidents are read (the
        first ask starts reading them in a thread: headless commands, which never ask, never pay for it)."""
        if not self.session.rollback_running:
            return {}
        if self._stats is None:
            if self._stats_task is None:
                with contextlib.suppress(RuntimeError):    # no running loop: nothing to read it with
                    self._stats_task = asyncio.get_running_loop().create_task(self._load_stats(),
                                                                              name="forecast-stats")
                    self._background.append(self._stats_task)
            return {}
        f = self.forecast
        return {"forecast": f.text(), "forecast_warning": f.warning} if f is not None else {}

    async def _load_stats(self) -> None:
        """Read the earlier incidents' step durations off the event loop (hundreds of journals)."""
        current = self.journal.path if self.journal is not None else (
            self._follower.path if self._follower is not None else None)
        with contextlib.suppress(Exception):
            self._stats = await asyncio.to_thread(step_stats, self.profile, current, self.state)

    def _connections_text(self) -> str:
        if self.pool is None:
            return ""
        hosts = sorted({h for group in self.profile.hosts.values() for h in group})
        if not hosts:
            return ""
        up = 0
        for h in hosts:
            with contextlib.suppress(Exception):
                up += self.pool.state(h) == "connected"
        return f"ssh {up}/{len(hosts)} connected"

    # -- what the TUI draws ----------------------------------------------------------------
    @property
    def is_driver(self) -> bool:
        return not self.read_only and self.lock.held

    @property
    def lock_holder(self) -> LockHolder | None:
        """Who drives this profile on this machine (ourselves included), None when nobody."""
        return self.lock.holder if self.lock.held else read_holder(self.lock.path, self.state)

    @property
    def lock_scope(self) -> str:
        """``bastion-wide`` (shared state directory: one driver among all users) or ``this user only``."""
        return self.state.scope

    @property
    def driver(self) -> str | None:
        """``user@host`` of the driver."""
        if self.is_driver:
            return f"{self._me[0]}@{self._me[1]}"
        holder = self.lock_holder
        if holder is not None:
            return holder.who
        return self.session.driver if self.session.driving else None

    def rto_elapsed(self) -> float | None:
        return self.session.rto_elapsed(self.now())

    @property
    def forecast(self) -> Projection | None:
        """The RTO forecast now (`cockpit.forecast`): ``.text()`` is "projected done 12:41 — budget 12:45",
        ``.warning`` says when the remaining critical path no longer fits; None without any history."""
        if self._stats is None:
            exclude = self.journal.path if self.journal is not None else None
            self._stats = step_stats(self.profile, exclude=exclude, state=self.state)
        if not self._stats:
            return None
        running = {sid: r.started for sid, r in self.running.items()}
        return project(self.profile, self._stats, now=self.now(), done=self.session.done, running=running,
                       rollback_started=self.session.rollback_started)

    def step_state(self, step_id: str) -> str:
        return "running" if step_id in self.running else self.session.state_of(step_id)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, connect: bool = True, poll: bool = True) -> None:
        """Return fast: the network (SSH connects, polling) happens in background tasks."""
        self._may_poll = poll
        if not self.read_only:
            try:
                self.lock.acquire(self.now())
            except LockHeld as e:
                self.lock_error = e
                self.notices.append(f"not the driver: {e}; this cockpit is read-only")
            else:
                if self.lock.stale is not None:
                    self.notices.append(
                        f"took over a stale driver lock from {self.lock.stale.describe()} "
                        "(that cockpit is no longer running)")
                try:
                    self._open_journal()
                    self._start_publishing()
                except OSError:
                    if self.journal is not None:
                        self.journal.close()
                        self.journal = None
                    self.lock.release()
                    raise
                if self.journal_problem is not None:
                    self.notices.append(f"journal cannot be written: {self.journal_problem}; "
                                        "nothing can be fired until it can")
                self._start_held()
        if not self.is_driver:
            await self._observe_safely()
            self._looked = True     # journals first seen from now on are live from their first line
            self._follow_task = asyncio.create_task(self._follow(), name="journal-follow")
            self._background.append(self._follow_task)
        if self.is_driver and connect:
            self._make_runner()
            self._background.append(asyncio.create_task(self._connect(), name="ssh-connect"))
        if poll:
            if self.is_driver:
                self._make_poller()
                if self.poller is not None:
                    await self.poller.start()
                self.sampling = "own polling"
            self._background.append(asyncio.create_task(self._tick(), name="check-tick"))

    def _start_publishing(self) -> None:
        """Driver: name our journal and feed in the lock (observers find them there), start the feed."""
        assert self.journal is not None
        self.published = FeedWriter(self.profile, self.state, self.store, self.redact, self.now)
        self.lock.update(journal=str(self.journal.path), feed=str(self.published.path))
        self.published.publish(force=True)
        self._background.append(asyncio.create_task(self.published.run(), name="feed-publish"))
        self._background.append(asyncio.create_task(self._journal_visits(), name="serve-visits"))

    async def _journal_visits(self, interval: float = 1.0) -> None:
        """Driver: journal the browser visits of `cockpit serve` (its server cannot write the journal)."""
        from cockpit.serve_visits import EVENTS, VisitCollector

        journal = self.journal
        if journal is None:
            return
        entries = self.journal_entries()
        since = min((float(e["ts"]) for e in entries[:1]), default=self.now())
        seen = {(str(e.get("visit")), "joined" if e["type"] == "observer_joined" else "left")
                for e in entries if e["type"] in EVENTS.values()}
        collector = VisitCollector(self.state, profile_key(self.profile), since, seen)
        while self.journal is journal and self.is_driver:
            for rec in collector.collect():
                event = EVENTS[rec.pop("event")]
                rec["at"] = rec.pop("ts")
                self._append(event, **rec)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        for step_id in list(self._tasks) + list(self._approval_cancel):
            self.cancel(step_id)
        if self._ended:   # let the fire() calls of those steps journal their ends
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE):
                    for event in list(self._ended.values()):
                        await event.wait()
        if self.held is not None:     # silences expired / regions closed before the journal closes
            await self.held.drain()
        if self.poller is not None:
            with contextlib.suppress(Exception):
                await self.poller.stop()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await self.pool.close()
        if self.journal is not None and not self.journal.closed:
            self._append("session_end", user=self._me[0], host=self._me[1])
            if self.journal.pending:
                self.unrecorded = (
                    f"the journal could not be written ({self.journal.broken}): {self.journal.pending} "
                    f"entr{'y was' if self.journal.pending == 1 else 'ies were'} not recorded in "
                    f"{self.journal.path}")
                self.notices.append(self.unrecorded)
            self.journal.close()
        if self.published is not None:
            self.published.close()
        self.lock.release()

    def _open_journal(self, path: Path | None = None, handoff_from: str | None = None) -> None:
        """Resume ``path`` (a handoff names it), else the open session, else start a new journal."""
        user, host = self._me
        if path is None and not self.fresh:
            path = find_open_session(self.profile, self.now(), self.state)
        if path is not None:
            damage: list[str] = []
            try:
                self.journal, entries = Journal.resume(path, self.profile, self.redact, self.now,
                                                       on_warning=damage.append)
            except OSError as e:
                raise OSError(e.errno, f"cannot resume the open session {path}: {e.strerror or e} (fix it, "
                              "or move the file out of the journals directory to start a new incident)") from e
            self.session = Session.from_entries(entries)
            self._make_held(entries)
            self.journal.listeners.append(self._journalled)
            self._open_recorder()
            interrupted = sorted(self.session.running)
            alive = self._last_alive(entries)
            extra: dict[str, Any] = {"handoff_from": handoff_from} if handoff_from else {}
            self._append("session_resume", **session_start_fields(self.profile, "driver", user, host), **extra)
            for step_id in interrupted:
                still = self._still_running(step_id)
                started = self.session.steps[step_id].started
                died = self._died_at(path, entries, step_id, started, alive)
                self._append(
                    "step_end", step=step_id, state="cancelled", hosts=[], started=started, ended=died,
                    duration=round(died - started, 3),
                    reason="interrupted: the cockpit running it stopped before it finished; "
                           + (still or "check the hosts before firing it again"))
                if still:
                    self.notices.append(f"{step_id} was interrupted: {still}")
            self.notices.append(f"resumed session {self.journal.session} ({path}); a new incident instead? "
                                f"`cockpit abandon --profile {self.profile.path}` closes this one for good")
            if damage:
                shown = damage[:5] + ([f"... and {len(damage) - 5} more"] if len(damage) > 5 else [])
                self.notices.append("the journal is damaged; skipped: " + "; ".join(shown))
        else:
            self.journal = Journal.create(self.profile, self.redact, self.now)
            self._make_held([])
            self.journal.listeners.append(self._journalled)
            self._open_recorder()
            self._append("session_start", **session_start_fields(self.profile, "driver", user, host))

    def _last_alive(self, entries: list[dict[str, Any]]) -> float | None:
        """The last sign of life of the cockpit that stopped: its last journal entry, or its feed's last
        heartbeat (a driver killed with SIGKILL leaves its feed file; the lock names it)."""
        now = self.now()
        times = [float(e["ts"]) for e in entries
                 if e.get("type") not in ("journal_repaired", "journal_recovered") and float(e["ts"]) <= now]
        dead = self.lock.stale
        feed = inside(dead.feed, self.state.feeds) if dead is not None else None
        if dead is not None and feed is not None:
            from cockpit.published import heartbeat

            with contextlib.suppress(OSError, StateError):
                beat = heartbeat(self.state, feed, dead.pid)
                if beat is not None and beat <= now:
                    times.append(beat)
        return max(times) if times else None

    def _died_at(self, journal: Path, entries: list[dict[str, Any]], step_id: str, started: float,
                 alive: float | None) -> float:
        """When an interrupted step died: the later of the cockpit's last sign of life and the step's last
        recorded output line (never before its start, never after now)."""
        from cockpit.recording import last_output_time

        times = [started] + ([alive] if alive is not None else [])
        rel = next((e.get("recording") for e in reversed(entries)
                    if e.get("type") == "step_start" and e.get("step") == step_id), None)
        if isinstance(rel, str):
            printed = last_output_time(journal, rel, started)
            if printed is not None:
                times.append(printed)
        return min(max(times), self.now())
    def _make_held(self, entries: list[dict[str, Any]]) -> None:
        """The driver's held resources, as the journal says (`cockpit.held`)."""
        self.held = HeldManager(self.profile, self._append, now=self.now, say=self._say_held,
                                rollback_ended=lambda: self.session.rollback_ended)
        for entry in entries:
            self.held.apply(entry)

    def _say_held(self, text: str) -> None:
        self.notices.append(self.redact(text))

    def _start_held(self) -> None:
        """Driver: extend on a clock; after a resume, ask about what the journal says is open."""
        if self.held is None:
            return
        if self.held.open:
            self.held.spawn(self.held.reconcile(), "held-reconcile")
        self._held_task = asyncio.create_task(self.held.run(), name="held-tick")
        self._background.append(self._held_task)

    def _stop_held(self) -> None:
        if self._held_task is not None:
            self._held_task.cancel()
            self._held_task = None
        self.held = None

    def _open_recorder(self) -> None:
        """The evidence folder beside the journal (step recordings, samples): see `cockpit.recording`."""
        assert self.journal is not None
        shared = self.state.shared     # a bastion-wide directory: the group's observers read the output here
        self.recorder = Recorder.beside(self.journal.path, redact=self.redact.deep,
                                        dir_mode=0o750 if shared else 0o700, file_mode=self.state.own_file_mode)
        if self.recorder.error:
            self.notices.append(f"step output cannot be recorded: {self.recorder.error}")

    def _record_samples(self, signal_id: str) -> None:
        """What the panel of ``signal_id`` draws now, into the samples file (driver only)."""
        if self.recorder is None or signal_id not in self.store.signal_ids():
            return
        view = self.store.view(signal_id, self.now(), with_series=False)
        if view.last_ok is None and not view.stale:   # a backfill before the first live sample
            self.recorder.samples.backfill(self.now(), signal_id, self.store.view(signal_id, self.now()).series)
            return
        self.recorder.samples.record(self.now(), signal_id, view.current if view.last_ok else {},
                                     view.stale_reason if view.stale else None,
                                     view.age if view.max_age is not None else None)

    def _still_running(self, step_id: str) -> str | None:
        """What of an interrupted local step's process group still runs on this machine (None: nothing)."""
        rec = self.session.processes.get(step_id)
        if rec is None or rec.get("machine") != self._me[1] or not isinstance(rec.get("pgid"), int):
            return None
        if rec.get("boot_id") and rec.get("boot_id") != procs.boot_id():
            return None   # the machine rebooted since: nothing of it survives
        alive = procs.in_group(rec["pgid"])
        if not alive:
            return None
        shown = ", ".join(f"pid {p.pid} `{p.command}`" for p in alive[:5])
        more = f" and {len(alive) - 5} more" if len(alive) > 5 else ""
        return (f"its processes are STILL RUNNING on this machine: {shown}{more} (process group "
                f"{rec['pgid']}; stop them with `kill -- -{rec['pgid']}` or let them finish before firing it again)")

    def _journalled(self, entry: dict[str, Any]) -> None:
        self.session.apply(entry)
        if self.held is not None:
            self.held.apply(entry)
        self._note_approval(entry)
        self._emit("journal", entry)

    def _note_approval(self, entry: dict[str, Any]) -> None:
        if str(entry.get("type", "")).startswith("approval_"):
            self._approval_entries.append(entry)

    def _append(self, type_: EntryType, *, hold: bool = True, **data: Any) -> dict[str, Any] | None:
        """Journal an entry when we are the driver (observers never write).

        Returns None when nothing was written: not the driver, or the journal cannot be
        written (see `journal_problem`; the entry is held unless ``hold`` is False).
        """
        if self.journal is None or self.journal.closed:
            return None
        was = self.journal.broken
        try:
            entry = self.journal.append(type_, hold=hold, **data)
        except JournalWriteError:
            if was is None:
                self._emit("journal_problem", self.journal_problem)
            return None
        if was is not None:
            self.notices.append(f"the journal can be written again (it failed: {was})")
            self._emit("journal_problem", None)
        return entry

    def _journal_ready(self) -> str | None:
        """Before an action: retry a broken journal (a ``journal_recovered`` entry); why not, else None."""
        j = self.journal
        if j is None or j.closed or j.broken is None:
            return None
        was = j.broken
        if j.retry():
            self.notices.append(f"the journal can be written again (it failed: {was})")
            self._emit("journal_problem", None)
            return None
        return self.journal_problem

    async def _follow(self, interval: float = 0.25) -> None:
        """Observers: follow the driver's journal and feed; notice a driver that died."""
        while True:
            await asyncio.sleep(interval)
            await self._observe_safely()

    async def _observe_safely(self) -> None:
        try:
            await self._observe_once()
        except StateError as e:     # a planted file: say it once, keep the last good view
            if str(e) not in self.notices:
                self.notices.append(str(e))
        except OSError:
            pass

    def _follow_journal(self, path: Path) -> None:
        if self._follower is None or self._follower.path != path:
            try:
                self.state.check_path(path)     # never follow a planted link or a foreign file
            except FileNotFoundError:
                return
            self._follower = JournalFollower(path)
            self._recordings = RecordingFollower(self.state, path, backlog=not self._looked)
            self.session = Session()
            self._approval_entries = []

    async def _observe_once(self) -> None:
        """One look: who holds the lock, which journal and feed it names, what they say now.

        Costs a few syscalls when nothing changed: the lock file, one ``stat`` of the
        journal and one of the feed. The journals directory is scanned (cached) only
        when no driver names its journal, at most every `RESCAN` seconds.
        """
        now = self.now()
        look = inspect(self.lock.path, self.state)
        holder = look.holder
        if holder is not None:
            journal = inside(holder.journal, self.state.journals)
            if journal is not None:
                self._follow_journal(journal)
            feed = inside(holder.feed, self.state.feeds)
            if feed is not None and (self._feed_reader is None or self._feed_reader.path != feed):
                self._feed_reader = FeedReader(self.state, feed)
        due = time.monotonic() - self._last_scan >= RESCAN
        try:   # a new journal file changes the directory: scan at once (one stat per look)
            listing = os.stat(self.state.path / "journals").st_mtime_ns
        except OSError:
            listing = None
        if listing != self._journals_listing:
            self._journals_listing, due = listing, True
        if not self.fresh and due and (self._follower is None or holder is None):
            self._last_scan = time.monotonic()
            found = self._open_journals.find(now)
            if found is not None:
                self._follow_journal(found)
        if self._follower is not None:
            new = self._follower.poll()
            # with the output recorded meanwhile: a step's last lines before its end, new lines last
            told: list[Any] = self._recordings.entries(new) if self._recordings is not None else list(new)
            for item in told:
                if isinstance(item, OutputLine):
                    self._emit("output", item)
                    continue
                self.session.apply(item)
                self._note_approval(item)
                self._emit("journal", item)
        if holder is not None and self._feed_reader is not None:
            snap = self._feed_reader.poll()
            if snap is not None:
                self._apply_feed(snap)
        if holder is not None:
            await self._set_own_polling(False)
            self._driver_is("driving", holder, None)
        elif (look.recorded is not None and look.recorded.handoff_until is not None
              and look.recorded.handoff_uid is not None and now < look.recorded.handoff_until):
            self._driver_is("handover", None, None)     # the wheel is changing hands: nobody else may take it
        elif self.session.driving:     # the journal says attached, the lock is free: it died
            heard = [t for t in (self._last_heard(), self._last_entry_ts()) if t is not None]
            await self._set_own_polling(True)
            self._driver_is("gone", None, max(heard) if heard else now)
        else:
            await self._set_own_polling(True)
            self._driver_is("none", None, None)

    def _last_heard(self) -> float | None:
        last = self._feed_reader.last if self._feed_reader is not None else None
        ts = last.get("ts") if last else None
        return float(ts) if isinstance(ts, int | float) else None

    def _last_entry_ts(self) -> float | None:
        times = [r.ended or r.started for r in self.session.steps.values()]
        times += [t for t in (self.session.rollback_started,) if t is not None]
        return max(times) if times else None

    def _apply_feed(self, snap: dict[str, Any]) -> None:
        changed, lines = self._mirror.apply(snap)
        recorded = self._recordings.steps if self._recordings is not None else set()
        for line in lines:
            if line.step_id not in recorded:      # those come whole from the recordings
                self._emit("output", line)
        running: dict[str, RunningStep] = {}
        raw = snap.get("running")
        if isinstance(raw, dict):
            for sid, r in raw.items():
                if not isinstance(r, dict):
                    continue
                hosts = tuple(str(h) for h in r.get("hosts", []) or [])
                done = {str(h): HostResult(str(h), "ok" if st == "ok" else "failed", None, 0.0)
                        for h, st in (r.get("done") or {}).items()}
                started = r.get("started")
                running[str(sid)] = RunningStep(str(sid), float(started) if isinstance(started, int | float)
                                                else 0.0, hosts, done)
        if running != self.running:
            self.running = running
            for sid in running:
                self._emit("step", sid, None)
        if changed:
            self.series_updated()

    def _driver_is(self, state: str, holder: LockHolder | None, since: float | None) -> None:
        before = (self.driver_state, self._observed.pid if self._observed else None)
        self.driver_state, self.driver_gone_since = state, since
        self._observed = holder
        if state != "driving":
            self.running = {}
        if before != (state, holder.pid if holder else None):
            if state == "gone":
                self.notices.append(f"driver gone (since {_hms(since)}): {self.session.driver or 'the driver'} "
                                    "stopped without ending its session and the lock is free"
                                    + ("" if self.forced_read_only else "; you may take over"))
            self._emit("driver", state)

    async def _set_own_polling(self, on: bool) -> None:
        """Observers sample production themselves only while no live driver publishes its samples."""
        if on and not self._own_polling and self._may_poll:
            self._make_poller()
            if self.poller is not None:
                await self.poller.start()
            self._own_polling = True
            self.sampling = "own polling"
        elif not on:
            if self._own_polling and self.poller is not None:
                await self.poller.stop()
            self._own_polling = False
            self.sampling = "driver feed"

    async def take_over(self, connect: bool = True) -> LockHolder:
        """An observer becomes the driver (the driver died or handed over): same journal, same RTO clock.

        Raises `LockHeld` when someone drives, `PermissionError` for a read-only cockpit.
        """
        if self.is_driver:
            assert self.lock.holder is not None
            return self.lock.holder
        if self.forced_read_only:
            raise PermissionError("this cockpit is read-only (--read-only or the profile): it never drives")
        look = inspect(self.lock.path, self.state)
        me = self.lock.acquire(self.now())
        handed = self.lock.handed_from
        journal = inside(look.recorded.journal, self.state.journals) if handed and look.recorded else None
        try:
            self._open_journal(journal, handoff_from=handed.who if handed else None)
            self._start_publishing()
            self._start_held()
        except BaseException:
            self.lock.release()
            raise
        self.read_only = False
        self.lock_error = None
        if self._follow_task is not None:
            self._follow_task.cancel()
            self._follow_task = None
        self._follower = None
        self._recordings = None
        if self.poller is not None:
            await self.poller.stop()
            self.poller = None
        self.running = {}
        if connect:
            self._make_runner()
            self._background.append(asyncio.create_task(self._connect(), name="ssh-connect"))
        if self._may_poll:
            self._make_poller()
            if self.poller is not None:
                await self.poller.start()
        self.sampling = "own polling"
        self.driver_state, self.driver_gone_since, self._observed = "driving", None, me
        self._emit("driver", "driving")
        return me

    # -- handoff ----------------------------------------------------------------------------------
    def handoff_offer(self) -> LockHolder | None:
        """Observers: the driver's offer to hand over to us (None: no offer for us)."""
        holder = self._observed
        if (holder is not None and holder.handoff_uid == os.geteuid() and holder.handoff_until is not None
                and self.now() < holder.handoff_until):
            return holder
        return None

    async def hand_over(self, to_user: str, timeout: float = 60.0) -> bool:
        """Driver: offer the wheel to ``to_user`` (an observer); once they accept, let go without a gap.

        The lock keeps a reservation for them (``handoff_uid``) while it is free, the journal
        records the handoff, and this cockpit goes on as an observer. False: not accepted in time.
        """
        import pwd

        from cockpit.state import user_name

        if not self.is_driver:
            raise PermissionError("only the driver hands over")
        if self.running or self.waiting_approval:
            raise RuntimeError("a step is running or waiting for approval: hand over when it has ended")
        try:
            uid = pwd.getpwnam(to_user).pw_uid
        except KeyError:
            raise ValueError(f"no user {to_user!r} on this machine") from None
        if uid == os.geteuid():
            raise ValueError("hand over to another Unix user (the lock would stay with you)")
        until = self.now() + timeout
        self._append("handoff_offered", by=self.driver, to=to_user, until=until)
        self.lock.update(handoff_uid=uid, handoff_until=until)
        journal = self.journal.path if self.journal is not None else None
        try:
            while self.now() < until:
                answer = handoff.read_acceptance(self.state, self.lock.path, uid, journal)
                if answer is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                self._append("handoff_expired", by=self.driver, to=to_user)
                self.lock.update(handoff_uid=None, handoff_until=None)
                return False
        except BaseException:
            if self.lock.held:
                self.lock.update(handoff_uid=None, handoff_until=None)
            raise
        who = f"{user_name(uid)}@{answer.get('host', '?')}"
        self._append("handoff", by=self.driver, to=who, uid=uid, rto_elapsed=self.rto_elapsed())
        await self._become_observer(reserve_for=uid)
        return True

    async def _become_observer(self, reserve_for: int) -> None:
        """After a handoff: stop driving (journal, feed, polling, SSH) and follow the new driver."""
        if self.held is not None:      # the new driver manages the silences and the region now
            await self.held.drain()
            self._stop_held()
        if self.poller is not None:
            with contextlib.suppress(Exception):
                await self.poller.stop()
            self.poller = None
        if self.journal is not None and not self.journal.closed:
            self.journal.append("session_end", user=self._me[0], host=self._me[1], reason="handoff")
            self.journal.close()
        self.journal = None
        if self.published is not None:
            self.published.close()
            self.published = None
        self.lock.update(handoff_until=self.now() + 30.0, handoff_uid=reserve_for)
        self.lock.release(keep_info=True)     # the reservation stays: only they may take it
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await self.pool.close()
        self.pool = self.runner = None
        self._observed = None
        self._follower = None
        self._recordings = None
        self.sampling = "driver feed"
        self.driver_state = "none"
        await self._observe_once()
        self._follow_task = asyncio.create_task(self._follow(), name="journal-follow")
        self._background.append(self._follow_task)
        self._emit("driver", self.driver_state)

    async def accept_handoff(self, connect: bool = True, timeout: float = 30.0) -> LockHolder:
        """Observer: accept the driver's offer; become the driver of the same journal once it lets go."""
        offer = self.handoff_offer()
        if offer is None:
            raise PermissionError("no handoff is offered to you")
        path = handoff.write_acceptance(self.state, self.lock.path, self._me[0], offer.journal, self.now())
        try:
            end = time.monotonic() + timeout
            while True:
                look = inspect(self.lock.path, self.state)
                if look.holder is None and look.recorded is not None and look.recorded.handoff_uid == os.geteuid():
                    return await self.take_over(connect=connect)
                if time.monotonic() > end:
                    raise TimeoutError("the driver did not let go of the lock")
                await asyncio.sleep(0.05)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()

    # -- SSH -------------------------------------------------------------------------------
    def _make_runner(self) -> None:
        if self.runner is not None:
            return
        if not self.is_driver:   # the guard refuses first; this is the belt to its braces
            raise RuntimeError("only the driver runs remote commands")
        from cockpit.runner import Runner
        from cockpit.ssh.pool import SshPool

        self.pool = SshPool(self.profile, on_event=self._connection_event)
        if self.pool.limit_notice:   # the open-file limit cannot hold every host's connection
            self.notices.append(self.pool.limit_notice)
        self.runner = Runner(self.profile, self.pool)

    async def _connect(self) -> None:
        if not self.profile.hosts:
            return
        try:
            await self.pool.connect_all()
        except Exception as e:   # e.g. an unreadable ssh config: say so, steps will report it too
            self._connection_event("*", "down", f"cannot connect: {e}")

    def _connection_event(self, host: str, event: str, detail: str) -> None:
        if event != "connecting":   # attempts are noise; outcomes are the record
            self._append("connection", host=host, event=event, detail=detail)
        self._emit("connection", host, event, detail)

    # -- monitoring --------------------------------------------------------------------------
    def _make_poller(self) -> None:
        """The driver's ssh signals go through its runner (shared connections); observers sample alone."""
        if self.poller is not None:
            return
        from cockpit.poller import Poller

        self.poller = Poller(self.profile, self.store, command_sampler=self.runner,
                             on_update=self.series_updated)

    async def _tick(self) -> None:
        """Re-evaluate the checks on a clock, not only when a sample arrives.

        A source that stops answering records nothing, so without this its checks
        would keep their last state; the tick turns them `unknown` once the data is
        overdue, and turns `missed` a deadline that passes in silence.
        """
        period = max(0.5, min(self.profile.cockpit.refresh, 5.0))
        while True:
            await asyncio.sleep(period)
            self.evaluate_checks()

    def series_updated(self, *args: Any) -> None:
        """The poller recorded samples: record and publish them, tell listeners, evaluate the checks."""
        if args and isinstance(args[0], str):
            self._record_samples(args[0])
        if self.published is not None:
            self.published.changed()
        self._emit("series")
        self.evaluate_checks()

    def evaluate_checks(self) -> None:
        """Evaluate every check now; journal the transitions and tell listeners."""
        transitions = self.checks.evaluate(self.store, self.now(), self.session.rollback_started)
        for new, old in transitions:
            if old is None or old.status == new.status:
                continue
            moved: dict[str, Any] = {"from": old.status}   # `from` is a keyword: passed by dict
            self._append("check_transition", check=new.check_id, title=new.title,
                         **moved, to=new.status, reason=new.reason,
                         values={k: json_number(v) for k, v in new.values.items()},
                         evidence=dict(new.evidence), deadline=new.deadline)
        # every evaluation, not only transitions: check rows show the live value and its age
        self._emit("checks", transitions)

    # -- the guard -------------------------------------------------------------------------
    def _guard(self) -> Guard:
        holder = None
        if self.lock_error is not None:
            holder = str(self.lock_error)
        elif not self.lock.held:
            current = read_holder(self.lock.path, self.state)
            holder = f"locked by {current.describe()}" if current else None
        from cockpit.held import optional_steps

        settled = frozenset(sid for sid in optional_steps(self.profile) if self.session.state_of(sid) == "failed")
        return Guard(self.profile.cockpit.environment, holder, settled=settled)

    def decide(self, step_id: str, confirmation: str | None = None, yes: bool = False,
               override: bool = False, action: Action = "fire") -> Decision:
        """What the guard says now (use it to ask what a step needs).

        Journals nothing new; a broken journal is retried first (asking is the operator's
        next action), so the answer is about whether the journal can be written now.
        """
        step = self.profile.step(step_id)
        if self.is_driver:
            self._journal_ready()
        return self._guard().decide(step, session=self.session, read_only=self.read_only,
                                    lock=_Held(self.is_driver and self.journal is not None),
                                    confirmation=confirmation, yes=yes, override=override, action=action,
                                    journal_problem=self.journal_problem if self.is_driver else None)

    # -- actions -----------------------------------------------------------------------------
    def start_rollback(self) -> bool:
        """Start the RTO clock (driver only; one rollback per session: False when it has started already)."""
        if not self.is_driver or self.session.rollback_started is not None:
            return False
        if self._journal_ready() is not None:
            return False
        entry = self._append("rollback_start", hold=False, by=self.driver, rto_budget=self.profile.cockpit.rto)
        if entry is not None and self.held is not None:
            self.held.on_rollback_start(float(entry["ts"]))
        return entry is not None

    def end_rollback(self) -> bool:
        if not self.is_driver or not self.session.rollback_running:
            return False
        elapsed = self.session.rto_elapsed(self.now())
        entry = self._append("rollback_end", by=self.driver, elapsed=elapsed, rto_budget=self.profile.cockpit.rto,
                             within_rto=elapsed is not None and elapsed <= self.profile.cockpit.rto)
        if self.held is not None:     # expire the silences, close the region
            self.held.on_rollback_end(float(entry["ts"]) if entry is not None else self.now())
        return True

    def tick_manual(self, step_id: str, note: str = "", override: bool = False,
                    confirmation: str | None = None) -> Decision:
        """Record a manual step as done (with the operator's note); the guard decides as for firing.

        Ticking is the confirmation of a ``confirm = "yes"`` step; a ``confirm = "type"`` one
        needs ``confirmation`` (the environment name, typed) like any other step.
        """
        step = self.profile.step(step_id)
        decision = self.decide(step_id, confirmation=confirmation, yes=True, override=override, action="tick")
        if not decision.allowed:
            self._append("guard_refused", step=step.id, action="tick", reason=decision.reason,
                         missing=list(decision.missing))
            return decision
        if decision.override:
            self._append("guard_override", step=step.id, missing=list(decision.missing),
                         reason=decision.reason, by=self.driver)
        if self._append("manual_tick", hold=False, step=step.id, title=step.title, note=note,
                        by=self.driver) is None and self.journal_problem is not None:
            return Decision(False, f"journal cannot be written: {self.journal_problem}", needs=decision.needs)
        return decision

    def _hosts_for(self, step: StepSpec, hosts: Sequence[str] | None) -> tuple[tuple[str, ...], str | None]:
        if step_kind(step.kind).runs_on != "hosts":
            hosted = names_of([k for k in step_kinds() if k.runs_on == "hosts"])
            return (), (None if hosts is None else
                        f"hosts apply to {hosted} steps only; {step.id} is a {step.kind} step")
        group = tuple(self.profile.hosts.get(step.hosts or "", ()))
        if hosts is not None:       # given: an explicit selection, never "the whole group" when empty
            if not hosts:
                return (), f"no host selected (host group {step.hosts!r}: {', '.join(group) or 'empty'})"
            unknown = [h for h in hosts if h not in group]
            if unknown:
                return (), (f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in host group "
                            f"{step.hosts!r} ({', '.join(group) or 'empty'})")
            return tuple(hosts), None
        return group, None   # `once`: the runner takes the first reachable of these

    def facts(self) -> IncidentFacts:
        s = self.session
        checks = tuple(f"{c.title or c.check_id}: {c.status}" for c in self.checks.states())
        return IncidentFacts(
            profile=self.profile.cockpit.name, environment=self.profile.cockpit.environment,
            driver=self.driver or "-", rollback_started=s.rollback_started, rollback_ended=s.rollback_ended,
            rto_budget=self.profile.cockpit.rto, rto_elapsed=self.rto_elapsed(),
            steps_done=tuple(sid for sid in (st.id for st in self.profile.steps) if sid in s.done),
            checks=checks)

    async def sample_now(self) -> None:
        """Sample every signal once and evaluate the checks.

        Headless `cockpit run` does not poll; a step whose message reports the checks
        (an end announcement, a CAB comment) calls this first so it reports what is
        true now, not "pending".
        """
        self._make_poller()
        if self.poller is not None:
            await self.poller.sample_once()
        self.evaluate_checks()

    def _context(self, note: str | None = None, step: StepSpec | None = None) -> StepContext:
        facts = self.facts()
        if step is not None and step.ends_rollback and facts.rollback_ended is None:
            # the step that ends the rollback announces the end: its time is now
            facts = replace(facts, rollback_ended=self.now())
        on_process = None
        if step is not None:
            step_id = step.id

            def on_process(pid: int, pgid: int, watchdog: int | None) -> None:
                self._append("step_process", step=step_id, pid=pid, pgid=pgid, watchdog=watchdog,
                             machine=self._me[1], boot_id=procs.boot_id())

        return StepContext(self.profile, facts, self.redact,
                           str(self.journal.path) if self.journal else None, note, on_process)

    async def preview(self, step_id: str, *, header: bool = True) -> str:
        """What the step will do: the preview command's output (ssh) or the rendered message.

        ``header`` puts the command and where it runs first (for the CLI); the TUI's
        confirmation shows those itself.
        """
        step = self.profile.step(step_id)
        if step.approve:
            note = (f"two-person rule: after you confirm, this waits for another Unix user's approval "
                    f"(`cockpit approve {step.id} --profile {self.profile.path}` or an observer's screen, "
                    f"within {format_duration(self.profile.cockpit.approval_timeout)})\n\n")
            return note + await self._preview_body(step, header)
        return await self._preview_body(step, header)

    async def _preview_body(self, step: StepSpec, header: bool) -> str:
        try:
            if step_kind(step.kind).runner:
                return self.redact(await self._ssh_preview(step, header))
            from cockpit import steps

            return self.redact(await steps.preview(step, self._context(step=step)))
        except Exception as e:   # shown in the confirmation: a reason, redacted, never a traceback
            return self.redact(f"cannot preview: {type(e).__name__}: {e}")

    async def _ssh_preview(self, step: StepSpec, header: bool = True) -> str:
        text = f"$ {self.profile.expand(step.command or '')}\non {where_it_runs(self.profile, step)}\n\n"
        text = text if header else ""
        if not step.preview:
            return text.rstrip() or "(this step declares no preview)"
        if not self.is_driver:
            return text + "(the preview command runs only in the driver's cockpit)"
        self._make_runner()
        from cockpit.runner import RunnerError
        from cockpit.ssh.errors import SshError

        try:
            shown = await self.runner.preview(step)
        except (RunnerError, SshError) as e:
            shown = f"cannot preview: {e}"
        return f"{text}preview `{self.profile.expand(step.preview)}`:\n{shown}"

    def _refused(self, step: StepSpec, reason: str, decision: Decision | None = None) -> StepResult:
        now = self.now()
        self._append("guard_refused", step=step.id, reason=reason,
                     missing=list(decision.missing) if decision is not None else [])
        result = StepResult(step.id, "refused", None, now, now, reason=reason)
        self._emit("step", step.id, result)
        return result

    async def fire(self, step_id: str, *, confirmation: str | None = None, yes: bool = False,
                   override: bool = False, hosts: Sequence[str] | None = None,
                   note: str | None = None) -> StepResult:
        """guard -> journal step_start -> execute -> journal step_end. Never raises for a refusal."""
        step = self.profile.step(step_id)
        decision = self.decide(step_id, confirmation, yes, override)   # retries a broken journal first
        if not decision.allowed:
            return self._refused(step, decision.reason, decision)
        targets, problem = self._hosts_for(step, hosts)
        if problem:
            return self._refused(step, problem)
        if step.approve:
            if step.id in self.waiting_approval:
                return self._refused(step, f"{step.id} is already waiting for approval")
            why = await self._await_approval(step, targets)
            if why is not None:
                return self._refused(step, why)
        if decision.override:
            self._append("guard_override", step=step.id, missing=list(decision.missing), reason=decision.reason,
                         by=self.driver)
        if step.starts_rollback:
            self.start_rollback()
        command = self.profile.expand(step.command) if step.command else None
        command_line = step_kind(step.kind).command_line
        if command_line is not None:   # e.g. ansible: the command line an operator would type
            command = command_line(step, self.profile, targets) or command
        started = self.now()
        recording = self.recorder.begin(step.id, started) if self.recorder is not None else None
        recorded = self._append("step_start", hold=False, step=step.id, title=step.title, kind=step.kind,
                                command=command, hosts=list(targets), confirm=step.confirm,
                                override=decision.override, note=note, by=self.driver,
                                recording=recording.rel if recording else None)
        if recorded is None and self.journal_problem is not None:   # never act without a record
            return self._refused(step, f"journal cannot be written: {self.journal_problem}")
        run = RunningStep(step.id, started, targets, recording=recording)
        self.running[step.id] = run
        if self.published is not None:
            self.published.step_started(step.id, started, list(targets))
        ended = self._ended[step.id] = asyncio.Event()
        self._emit("step", step.id, None)
        task = asyncio.create_task(self._execute(step, run, targets, note), name=f"step-{step.id}")
        self._tasks[step.id] = task
        outer_cancelled = False
        try:
            result = await task
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            outer_cancelled = current is not None and current.cancelling() > 0
            given = getattr(exc, "result", None)    # the runner's StepCancelled carries its result
            if not task.done():
                task.cancel()
                try:
                    given = await asyncio.shield(task)
                except asyncio.CancelledError as inner:
                    given = getattr(inner, "result", given)
                except Exception:
                    pass
            result = self._cancelled_result(step, run, command, started, given)
        except Exception as e:   # an executor bug must not take the cockpit down
            result = StepResult(step.id, "failed", command, started, self.now(),
                                reason=self.redact(f"internal error: {type(e).__name__}: {e}"))
        finally:
            self._tasks.pop(step.id, None)
            self.running.pop(step.id, None)
            if self.published is not None:
                self.published.step_ended(step.id)
        if self.held is not None:
            self.held.adopt(step.id, result.detail, began=started)   # a silence it opened: journalled before its end
        try:
            self._record_end(step, result, started, run.recording.close() if run.recording else None)
            if self.held is not None:
                self.held.on_step_end(step.id, result.state, result.started, result.ended)
            if step.ends_rollback and result.ok:
                self.end_rollback()
        finally:
            ended.set()
            self._ended.pop(step.id, None)
        self._emit("step", step.id, result)
        if outer_cancelled:
            raise asyncio.CancelledError
        return result

    # -- the two-person rule ------------------------------------------------------------------
    def pending_approvals(self) -> list[approvals.Request]:
        """Approval requests of the followed (or our) journal still waiting for an answer."""
        return approvals.pending(self._approval_entries, self.now())

    async def _await_approval(self, step: StepSpec, targets: tuple[str, ...]) -> str | None:
        """Journal the request, wait for a valid answer from another user; None when approved, else why not."""
        command = self.profile.expand(step.command) if step.command else None
        preview = await self._preview_body(step, True)
        ttl = self.profile.cockpit.approval_timeout
        req = approvals.new_request(step.id, command, targets, preview=preview, by=self.driver or "?",
                                    now=self.now(), ttl=ttl)
        self._append("approval_requested", **req.fields(), ts=req.ts)
        self.waiting_approval[step.id] = req
        cancel = self._approval_cancel[step.id] = asyncio.Event()
        self._emit("step", step.id, None)
        try:
            return await approvals.wait_for_answer(
                self.state, self.profile, req, approvals.digest(step.id, command, targets),
                append=self._append, now=self.now, cancel=cancel, driver=self.driver or "?")
        finally:
            self.waiting_approval.pop(step.id, None)
            self._approval_cancel.pop(step.id, None)
            self._emit("step", step.id, None)

    def answer_approval(self, step_id: str, *, confirmation: str | None, approve: bool = True,
                        reason: str = "") -> approvals.Request:
        """Approve (typing the environment) or refuse (with a reason) the pending request for ``step_id``.

        Raises `cockpit.approval.ApprovalError` with the reason it cannot: nothing pending,
        self-approval, expired, a typed name that is not the environment, or a request whose
        command or hosts are not what this profile says the step runs.
        """
        found = [r for r in self.pending_approvals() if r.step == step_id]
        if not found:
            raise approvals.ApprovalError(f"no pending approval request for {step_id}")
        req = found[-1]
        approvals.check_answerable(self.profile, req, confirmation=confirmation, approve=approve, reason=reason)
        approvals.write_answer(self.state, self.profile, req, approve=approve, reason=reason, now=self.now())
        return req

    async def _execute(self, step: StepSpec, run: RunningStep, targets: tuple[str, ...],
                       note: str | None) -> StepResult:
        def output(line: OutputLine) -> None:
            shown = replace(line, text=self.redact(line.text))
            if run.recording is not None:
                run.recording.write(shown.host, shown.text, shown.ts)
            if self.published is not None:
                self.published.output(shown)
            self._emit("output", shown)

        def host_done(result: HostResult) -> None:
            run.done[result.host] = result
            if self.published is not None:
                self.published.host_done(step.id, result.host, result.state)
            self._emit("step", step.id, None)

        kind = step_kind(step.kind)
        if kind.runner:
            self._make_runner()
            restricted = list(targets) if targets != tuple(self.profile.hosts.get(step.hosts or "", ())) else None
            if step.batch:
                return await self._rollout(step, run, restricted, output, host_done)
            result: StepResult = await self.runner.run(step, hosts=restricted, on_output=output,
                                                       on_host_done=host_done)
            return result
        from cockpit import steps

        on_hosts = kind.runs_on == "hosts"   # like ssh: on the step's hosts (or --hosts), per-host progress
        ctx = self._context(note, step)
        if on_hosts and kind.batchable and step.batch:   # one run per batch, limited to the batch's hosts
            async def one_batch(hosts: list[str], out: Callable[[OutputLine], None] | None,
                                done: Callable[[HostResult], None] | None) -> StepResult:
                return await steps.execute(step, ctx, out, hosts=hosts, on_host_done=done)

            return await self._rollout(step, run, list(targets), output, host_done, run_batch=one_batch)
        return await steps.execute(step, ctx, output,
                                   hosts=list(targets) if on_hosts else None,
                                   on_host_done=host_done if on_hosts else None)

    async def _rollout(self, step: StepSpec, run: RunningStep, hosts: list[str] | None,
                       output: Callable[[OutputLine], None], host_done: Callable[[HostResult], None],
                       *, run_batch: Any = None) -> StepResult:
        """A batched step (`cockpit.batches`): each batch and gate journalled as a `batch` entry."""
        from cockpit.batches import BatchEvent, Rollout

        def event(e: BatchEvent) -> None:
            run.batch = (e.index, e.total)
            if e.event == "batch_start":
                run.active, run.active_since = e.hosts, self.now()
            self._append("batch", step=e.step_id, event=e.event, batch=e.index, batches=e.total,
                         hosts=list(e.hosts), ok=e.ok, failed=e.failed, waited=round(e.waited, 3),
                         passed=e.passed, reason=e.reason)
            self._emit("batch", e)
            self._emit("step", e.step_id, None)

        rollout = Rollout(self.runner if run_batch is None else None, step, hosts, gate=self._wait_gate,
                          on_event=event, on_output=output, on_host_done=host_done, run_batch=run_batch)
        self._rollouts[step.id] = rollout
        try:
            return await rollout.run()
        finally:
            self._rollouts.pop(step.id, None)

    async def _wait_gate(self, gate: Any) -> Any:
        from cockpit.gate import CheckReading, wait_gate

        def read(check_id: str) -> CheckReading:
            for state in self.checks.states():
                if state.check_id == check_id:
                    view = self.store.view(state.signal_id, with_series=False)
                    return CheckReading(state.status, view.seq, state.reason)
            return CheckReading("unknown", 0, "no such check")

        return await wait_gate(gate, read)

    def stop_after_batch(self, step_id: str) -> bool:
        """Let a batched step's running batch finish, then stop (the rest skipped); `cancel` stops at once."""
        rollout = self._rollouts.get(step_id)
        if rollout is None:
            return False
        if rollout.stopping:
            return True
        rollout.stop_after_batch()
        from cockpit.batches import BatchEvent

        run = self.running.get(step_id)
        index, total = run.batch if run is not None and run.batch is not None else (0, 0)
        e = BatchEvent(step_id, "stop_asked", index, total,
                       reason=f"stop after batch {index} of {total}, asked by {self.driver or '?'}")
        self._append("batch", step=step_id, event=e.event, batch=index, batches=total, reason=e.reason,
                     by=self.driver or "?")
        self._emit("batch", e)
        return True

    def _cancelled_result(self, step: StepSpec, run: RunningStep, command: str | None,
                          started: float, given: object) -> StepResult:
        """The runner's own cancelled result when it gave one (`StepCancelled.result`), else built here."""
        reason = "cancelled by the operator"
        if isinstance(given, StepResult):
            return replace(given, state="cancelled", reason=given.reason or reason)
        now = self.now()
        hosts = tuple(run.done.get(h) or HostResult(h, "cancelled", None, now - started, error="cancelled")
                      for h in run.hosts)
        return StepResult(step.id, "cancelled", command, started, now, hosts, reason=reason)

    def _record_end(self, step: StepSpec, result: StepResult, started: float,
                    recordings: list[dict[str, Any]] | None = None) -> None:
        hosts = [
            {"host": h.host, "state": h.state, "exit_status": h.exit_status, "duration": round(h.duration, 3),
             "tail": redact_lines(self.redact, h.tail[-TAIL_LINES:]), "error": h.error, "verify_ok": h.verify_ok,
             "verify_exit_status": h.verify_exit_status}
            for h in result.hosts
        ]
        extra: dict[str, Any] = {"recordings": recordings} if recordings is not None else {}
        self._append("step_end", step=step.id, state=result.state, started=started,
                     duration=round(result.ended - result.started, 3), hosts=hosts, reason=result.reason,
                     detail=result.detail, **extra)

    def cancel(self, step_id: str) -> bool:
        """Cancel a running step on every host (its end is journalled as cancelled), or its wait for approval."""
        waiting = self._approval_cancel.get(step_id)
        if waiting is not None:
            waiting.set()
            return True
        task = self._tasks.get(step_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def journal_entries(self) -> list[dict[str, Any]]:
        """The whole journal of this session so far (for the report pane)."""
        if self.journal is None:
            return []
        return read_journal(self.journal.path, on_warning=lambda _: None)


def _hms(ts: float | None) -> str:
    if ts is None:
        return "?"
    try:
        return time.strftime("%H:%M:%S", time.localtime(ts))
    except (ValueError, OverflowError, OSError):
        return "?"


class _Held:
    def __init__(self, held: bool) -> None:
        self.held = held

