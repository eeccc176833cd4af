"""The journal entry kinds: their names, their fields and the check every read applies.

One place defines what a journal line may say. `EntryType` names the kinds (the
writer's ``Journal.append`` takes only these); one ``TypedDict`` per kind lists its
fields and their types; `validate` checks a parsed line against them, so the
readers (resume, observers, ``cockpit report``) never meet a ``"started": "abc"``,
a NaN or a 1e300 timestamp, or a ``hosts`` that is not a list of host records.

A new kind is one line in `EntryType` and one ``TypedDict`` in `KINDS`:
`Journal.append` refuses a kind not declared here (the readers would skip it).

Every field except ``ts`` and ``type`` may be absent (older journals, resume
entries without a duration); a field that is present must have its type.
Unknown extra fields are allowed (and ignored by the readers).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, TypedDict, TypeGuard, Union, get_args, get_origin, get_type_hints

EntryType = Literal[
    "session_start", "session_resume", "session_end", "session_abandoned",
    "rollback_start", "rollback_end",
    "step_start", "step_process", "step_output", "step_end",
    "guard_refused", "guard_override", "check_transition", "manual_tick", "connection",
    "journal_repaired", "journal_recovered", "batch",
    "approval_requested", "approval_granted", "approval_refused", "approval_rejected", "approval_expired",
    "approval_cancelled", "handoff_offered", "handoff_expired", "handoff",
    "observer_joined", "observer_left",
    "held_opened", "held_extended", "held_closed", "held_failed", "held_checked", "annotation_posted",
]
ENTRY_TYPES: tuple[EntryType, ...] = get_args(EntryType)

# kinds grouped by what the readers do with them
ATTACH: frozenset[EntryType] = frozenset({"session_start", "session_resume"})
ACTIVITY: frozenset[EntryType] = frozenset({"rollback_start", "rollback_end", "step_end", "manual_tick"})
GUARD: frozenset[EntryType] = frozenset({"guard_refused", "guard_override"})

# the range a timestamp must lie in: from the epoch to the end of year 9999 (what datetime can show)
TS_MIN = 0.0
TS_MAX = 253_402_300_799.0
SPAN_MAX = 10 * 365 * 86400.0    # a duration (elapsed, budget) longer than ten years is damage


class _Ts:
    """Marker: a Unix timestamp in [TS_MIN, TS_MAX]."""


class _Span:
    """Marker: a finite number of seconds, |x| <= SPAN_MAX."""


Timestamp = Annotated[float, _Ts]
Seconds = Annotated[float, _Span]


class _Stamped(TypedDict):
    ts: Timestamp
    type: EntryType


class Entry(_Stamped, total=False):
    """What every entry has: the time, the kind, and the session (the journal's first stem)."""

    session: str


class SessionStart(Entry, total=False):
    """``session_start`` / ``session_resume``: who attached, with which profile."""

    user: str
    host: str
    pid: int
    mode: str
    version: str
    profile: str
    profile_path: str
    profile_sha256: str
    profile_key: str
    environment: str
    rto_budget: Seconds | None
    handoff_from: str   # session_resume: the driver who handed over (cockpit/handoff.py)


class SessionEnd(Entry, total=False):
    user: str
    host: str


class SessionAbandoned(Entry, total=False):
    """``cockpit abandon``: the session is closed for good; the next driver starts a new journal."""

    by: str
    reason: str


class RollbackStart(Entry, total=False):
    by: str | None
    rto_budget: Seconds | None


class RollbackEnd(Entry, total=False):
    by: str | None
    elapsed: Seconds | None
    rto_budget: Seconds | None
    within_rto: bool


class StepStart(Entry, total=False):
    step: str
    title: str | None
    kind: str
    command: str | None
    hosts: list[str]
    confirm: str
    override: bool
    note: str | None
    by: str | None
    recording: str | None   # the run's folder of asciicast files, relative to the journal's folder


class StepProcess(Entry, total=False):
    """A local step's process started: where to look for it after a crash."""

    step: str
    pid: int
    pgid: int
    watchdog: int | None
    machine: str
    boot_id: str | None


class StepOutput(Entry, total=False):
    step: str
    host: str
    stream: str
    lines: list[str]
    tail: list[str]


class HostRecord(TypedDict, total=False):
    host: str
    state: str
    exit_status: int | None
    duration: Seconds
    tail: list[str]
    error: str | None
    verify_ok: bool | None
    verify_exit_status: int | None


class RecordingRecord(TypedDict, total=False):
    """One host's asciicast recording of a step run (see `cockpit.recording`)."""

    host: str
    path: str
    bytes: int
    truncated: bool
    error: str | None


class StepEnd(Entry, total=False):
    step: str
    state: str
    started: Timestamp
    ended: Timestamp            # an interrupted step: when it died (``ts`` is when that was written)
    duration: Seconds
    hosts: list[HostRecord]
    reason: str | None
    detail: dict[str, Any]
    recordings: list[RecordingRecord]


class GuardRefused(Entry, total=False):
    step: str
    action: str
    reason: str | None
    missing: list[str]


class GuardOverride(Entry, total=False):
    step: str
    missing: list[str]
    reason: str | None
    by: str | None


CheckTransition = TypedDict("CheckTransition", {
    "check": str, "title": "str | None", "from": "str | None", "to": str, "reason": "str | None",
    "values": Any,      # the evidence: its shape belongs to the check engine
}, total=False)


class ManualTick(Entry, total=False):
    step: str
    title: str | None
    note: str | None
    by: str | None


class Connection(Entry, total=False):
    host: str
    event: str
    detail: str | None


class JournalRepaired(Entry, total=False):
    dropped_bytes: int
    reason: str


class JournalRecovered(Entry, total=False):
    """Writes failed from ``since``; the ``late`` entries after this one were held in memory meanwhile."""

    since: Timestamp
    reason: str
    late: int
    lost: int


class Batch(Entry, total=False):
    """A batched step's batch or gate started or ended (`cockpit.batches.BatchEvent`)."""

    step: str
    event: str
    batch: int
    batches: int
    hosts: list[str]
    ok: int
    failed: int
    waited: Seconds
    passed: bool | None
    reason: str | None
    by: str          # stop_asked: who asked to stop after the running batch


class Approval(Entry, total=False):
    """The two-person rule (`cockpit.approval`): a request bound to what runs, and its answers."""

    request: str
    step: str
    command: str | None
    hosts: list[str]
    digest: str
    preview: str
    uid: int
    pid: int
    expires: Timestamp
    answered: Timestamp
    by: str
    requested_by: str
    reason: str | None


class Handoff(Entry, total=False):
    """The driver offers the wheel to ``to`` (until), it expired, or it was taken (`cockpit.handoff`)."""

    to: str
    until: Timestamp
    uid: int
    rto_elapsed: Seconds | None


class ObserverVisit(Entry, total=False):
    """A browser visitor of ``cockpit serve`` began or ended watching (`cockpit.serve_visits`).

    ``visit`` pairs the two; ``remote`` and ``user_agent`` are what the server saw (the
    address as the server sees it: through ``ssh -L`` it is the tunnel's loopback end);
    ``by`` is who runs the server; ``reason`` why the visit ended (closed, idle, server stopped).
    """

    visit: str
    remote: str | None
    user_agent: str | None
    by: str | None
    reason: str | None
    duration: Seconds | None
    at: Timestamp
class HeldEntry(Entry, total=False):
    """A resource the rollback holds open (`cockpit.held`): an Alertmanager silence, a Grafana region.

    ``held_opened`` (what, step, until, params), ``held_extended`` (until, new_id when the server
    gave another id), ``held_closed`` (how, reason), ``held_failed`` (action, reason),
    ``held_checked`` (state found on resume)."""

    resource: str
    id: str | None
    what: str | None
    step: str | None
    until: Timestamp | None
    params: dict[str, Any]
    new_id: str
    how: str
    reason: str | None
    action: str
    state: str


class AnnotationPosted(Entry, total=False):
    """A Grafana point annotation posted for a step (`[grafana] annotate_steps`)."""

    id: str
    step: str
    text: str


KINDS: dict[EntryType, type] = {
    "session_start": SessionStart, "session_resume": SessionStart, "session_end": SessionEnd,
    "session_abandoned": SessionAbandoned, "rollback_start": RollbackStart, "rollback_end": RollbackEnd,
    "step_start": StepStart, "step_process": StepProcess, "step_output": StepOutput, "step_end": StepEnd,
    "guard_refused": GuardRefused, "guard_override": GuardOverride, "check_transition": CheckTransition,
    "manual_tick": ManualTick, "connection": Connection, "journal_repaired": JournalRepaired,
    "journal_recovered": JournalRecovered, "batch": Batch,
    "approval_requested": Approval, "approval_granted": Approval, "approval_refused": Approval,
    "approval_rejected": Approval, "approval_expired": Approval, "approval_cancelled": Approval,
    "handoff_offered": Handoff, "handoff_expired": Handoff, "handoff": Handoff,
    "observer_joined": ObserverVisit, "observer_left": ObserverVisit,
    "held_opened": HeldEntry, "held_extended": HeldEntry, "held_closed": HeldEntry, "held_failed": HeldEntry,
    "held_checked": HeldEntry, "annotation_posted": AnnotationPosted,
}
assert set(KINDS) == set(ENTRY_TYPES)

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(td: type) -> dict[str, Any]:
    if td not in _HINTS:
        _HINTS[td] = get_type_hints(td, include_extras=True)
    return _HINTS[td]


def _known(kind: str) -> TypeGuard[EntryType]:
    return kind in KINDS


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _problem(value: object, hint: Any, where: str) -> str | None:
    """Why ``value`` does not fit ``hint`` (None when it does)."""
    origin = get_origin(hint)
    if origin is Annotated:
        _base, *marks = get_args(hint)
        if not _number(value) or not math.isfinite(value):
            return f"{where} must be a finite number, not {_show(value)}"
        if _Ts in marks and not TS_MIN <= value <= TS_MAX:
            return f"{where} {_show(value)} is not a plausible time"
        if _Span in marks and abs(value) > SPAN_MAX:
            return f"{where} {_show(value)} is not a plausible duration"
        return None
    if origin in (Union, type(int | None)):
        options = get_args(hint)
        if any(_problem(value, o, where) is None for o in options):
            return None
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:          # X | None given something else: say what is wrong with it as an X
            return _problem(value, real[0], where)
        names = " or ".join(_name(o) for o in options)
        return f"{where} must be {names}, not {_show(value)}"
    if hint is type(None):
        return None if value is None else f"{where} must be null, not {_show(value)}"
    if origin is Literal:
        return None if value in get_args(hint) else f"{where} {_show(value)} is not one of {get_args(hint)}"
    if hint is Any:
        return None
    if hint is str:
        return None if isinstance(value, str) else f"{where} must be a string, not {_show(value)}"
    if hint is bool:
        return None if isinstance(value, bool) else f"{where} must be true or false, not {_show(value)}"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{where} must be an integer, not {_show(value)}"
    if hint is float:
        ok = _number(value) and math.isfinite(value)
        return None if ok else f"{where} must be a finite number, not {_show(value)}"
    if origin is list:
        if not isinstance(value, list):
            return f"{where} must be a list, not {_show(value)}"
        (item,) = get_args(hint)
        for i, v in enumerate(value):
            p = _problem(v, item, f"{where}[{i}]")
            if p:
                return p
        return None
    if origin is dict:
        return None if isinstance(value, dict) else f"{where} must be an object, not {_show(value)}"
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):   # a nested TypedDict
        if not isinstance(value, dict):
            return f"{where} must be an object, not {_show(value)}"
        return _fields(value, hint, where + ".")
    return None


def _fields(value: dict[str, Any], td: type, prefix: str = "") -> str | None:
    for key, hint in _hints(td).items():
        if key not in value:
            if key in td.__required_keys__:  # type: ignore[attr-defined]  # td is a TypedDict; `type` does not say so
                return f"{prefix}{key} is missing"
            continue
        p = _problem(value[key], hint, f"{prefix}{key}")
        if p:
            return p
    return None


def _name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if get_origin(hint) is Annotated or hint is float:
        return "a number"
    if hint is str:
        return "a string"
    return getattr(hint, "__name__", str(hint))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(obj: object) -> str | None:
    """Why ``obj`` is not a valid journal entry (None: it is one)."""
    if not isinstance(obj, dict):
        return f"not a JSON object ({type(obj).__name__})"
    kind = obj.get("type")
    if not isinstance(kind, str):
        return "no entry type"
    if not _known(kind):
        return f"unknown entry type {_show(kind)}"
    td = KINDS[kind]
    p = _problem(obj.get("ts"), Timestamp, "ts") if "ts" in obj else "ts is missing"
    if p:
        return f"{kind}: {p}"
    session = obj.get("session")
    if session is not None and not isinstance(session, str):
        return f"{kind}: session must be a string, not {_show(session)}"
    p = _fields(obj, td)
    return f"{kind}: {p}" if p else None
