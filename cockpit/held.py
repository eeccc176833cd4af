"""Things a rollback holds open: opened once, kept alive while it runs, closed when it ends.

An Alertmanager silence (`cockpit.steps.silence`) and the Grafana region annotation of
the rollback (`cockpit.steps.annotate`) are *held resources*: something outside that
the rollback opened and must not leave behind. This module is their one lifecycle,
driven by the controller at five points:

* **open**: a step's result carries ``detail["held"]`` (the silence step), or a watcher
  opens one at rollback start (the region) — journalled ``held_opened`` (kind, id, what,
  until, how to extend it) before anything else is said about it;
* **tick** (every second or so while a driver runs): a resource that ends by itself
  (``until``) and is within its ``margin`` of that end is extended while the rollback has
  not ended — ``held_extended`` (a new id when the server gave one);
* **end** of the rollback (or ``cockpit abandon``): every open resource is closed —
  ``held_closed`` (``how``: ``expired``/``closed``); one whose open began before the end
  and was still in flight then is closed as soon as it has opened;
* **resume** after a crash: every resource the journal says is open is asked about
  (`Handler.check`): still there → kept (and closed at once if the rollback ended
  meanwhile); ended by itself or gone → ``held_closed`` saying so;
* every failure is ``held_failed`` (action, reason) and said to the operator; nothing
  is retried blindly except on the next tick.

The journal is the state: `open_from` folds the entries, so resume, ``cockpit
abandon`` and the report (`summarize`) all read the same facts. A resource whose
kind has no handler here (a newer journal) is reported, never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cockpit.profile.model import Profile

log = logging.getLogger(__name__)

# resource kind -> "module:factory" (factory(profile) -> Handler); imported when first needed
HANDLERS: dict[str, str] = {
    "silence": "cockpit.steps.silence:handler",
    "annotation": "cockpit.steps.annotate:handler",
}
# watchers: things that open/close resources on the rollback's own events ("module:factory")
WATCHERS: list[str] = ["cockpit.steps.annotate:watcher"]

TICK_MIN = 0.5          # seconds between ticks (a tick with nothing due does no I/O)
RETRY_MAX = 30.0        # a failed extension is retried after 1, 2, 4 … seconds, at most this
CLOSE_GRACE = 20.0     # seconds `drain` waits for closes in flight when the cockpit stops


@dataclass(frozen=True)
class Held:
    """One open resource, as the journal says."""

    kind: str
    id: str
    what: str                           # one line for people: "silence alertname=~\"X\" on am"
    opened: float
    step: str | None = None             # the step that opened it (None: the rollback itself)
    until: float | None = None          # it ends by itself then (a silence's endsAt); None: until closed
    params: dict[str, Any] = field(default_factory=dict)   # how to extend/close it (source, duration, margin)
    extended: int = 0


Append = Callable[..., Any]     # the controller's journal writer: append(type, **fields) -> entry or None


class Handler(Protocol):
    """What a kind of held resource knows how to do (all may raise with a reason fit to show)."""

    async def extend(self, held: Held, now: float) -> tuple[str, float]:
        """Keep it open longer: (its id now, its new end)."""
        ...

    async def close(self, held: Held, now: float, ended: float | None) -> str:
        """Close it (``ended``: when the rollback ended, if it did); how it was closed (``expired``...)."""
        ...

    async def check(self, held: Held) -> tuple[str, float | None]:
        """On resume: ``("open", until)``, ``("ended", when)`` (by itself) or ``("gone", None)``."""
        ...


class Watcher(Protocol):
    async def rollback_started(self, manager: HeldManager, ts: float) -> None: ...

    async def step_ended(self, manager: HeldManager, step_id: str, state: str, started: float,
                         ended: float) -> None: ...


def optional_steps(profile: Profile) -> list[str]:
    """Steps whose table says ``required = false`` (a silence, an annotation): when they fail, the steps
    listing them in ``after`` still run (the guard counts them as settled)."""
    from cockpit.kinds import step_kind

    out = []
    for step in profile.steps:
        spec = step_kind(step.kind).spec_of(step)
        if getattr(spec, "required", None) is False:
            out.append(step.id)
    return out


def _load(ref: str, profile: Profile) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)(profile)


def open_from(entries: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Held]:
    """The resources the journal says are open, by (kind, id)."""
    out: dict[tuple[str, str], Held] = {}
    for e in entries:
        fold(out, e)
    return out


def fold(out: dict[tuple[str, str], Held], e: dict[str, Any]) -> None:
    t = e.get("type")
    kind, ident = str(e.get("resource", "")), str(e.get("id", ""))
    if t == "held_opened" and kind and ident:
        until = e.get("until")
        params = e.get("params")
        out[(kind, ident)] = Held(kind, ident, str(e.get("what") or f"{kind} {ident}"), float(e["ts"]),
                                  e.get("step") if isinstance(e.get("step"), str) else None,
                                  float(until) if isinstance(until, int | float) else None,
                                  dict(params) if isinstance(params, dict) else {})
    elif t == "held_extended" and (kind, ident) in out:
        old = out.pop((kind, ident))
        new_id = e.get("new_id") if isinstance(e.get("new_id"), str) and e.get("new_id") else ident
        until = e.get("until")
        out[(kind, str(new_id))] = replace(old, id=str(new_id), extended=old.extended + 1,
                                           until=float(until) if isinstance(until, int | float) else old.until)
    elif t == "held_closed":
        out.pop((kind, ident), None)


def summarize(entries: Sequence[dict[str, Any]], now: float | None = None) -> list[dict[str, Any]]:
    """Every resource the rollback held, with its fate (for the report's summary)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    alias: dict[tuple[str, str], tuple[str, str]] = {}
    for e in entries:
        t = e.get("type")
        kind, ident = str(e.get("resource", "")), str(e.get("id", ""))
        key = alias.get((kind, ident), (kind, ident))
        if t == "held_opened":
            rows[key] = {"kind": kind, "id": ident, "what": e.get("what"), "step": e.get("step"),
                         "opened": e.get("ts"), "until": e.get("until"), "extended": 0, "closed": None,
                         "how": None, "failures": [], "ids": [ident]}
        elif key in rows:
            row = rows[key]
            if t == "held_extended":
                row["extended"] += 1
                row["until"] = e.get("until", row["until"])
                new_id = e.get("new_id")
                if isinstance(new_id, str) and new_id and new_id != ident:
                    alias[(kind, new_id)] = key
                    row["ids"].append(new_id)
                    row["id"] = new_id
            elif t == "held_closed":
                row["closed"], row["how"] = e.get("ts"), e.get("how")
                row["reason"] = e.get("reason")
            elif t == "held_failed":
                row["failures"].append({"ts": e.get("ts"), "action": e.get("action"), "reason": e.get("reason")})
        if t == "held_failed" and e.get("action") == "open":
            unanswered = e.get("unanswered") is True     # asked, no answer: it may exist, nobody can close it
            rows[(kind, f"failed-{len(rows)}")] = {
                "kind": kind, "id": None, "what": e.get("what"), "step": e.get("step"), "opened": None,
                "until": None, "extended": 0, "closed": None,
                "how": "MAY BE LEFT OPEN: asked for, no answer (its id is unknown)" if unanswered else "never opened",
                "failures": [{"ts": e.get("ts"), "action": "open", "reason": e.get("reason")}], "ids": [],
                **({"left_open": True} if unanswered else {})}
    now = time.time() if now is None else now
    for row in rows.values():
        if "left_open" in row:
            continue
        if row["closed"] is None and row["how"] is None:
            until = row["until"]
            if isinstance(until, int | float) and until <= now:
                row["how"] = "left open: ended by itself at its end time (not expired by cockpit)"
            elif isinstance(until, int | float):
                row["how"] = "LEFT OPEN: still active until its end time (never closed by cockpit)"
            else:
                row["how"] = "LEFT OPEN: never closed by cockpit"
            row["left_open"] = True
        else:
            row["left_open"] = False
    return list(rows.values())


class HeldManager:
    """The driver's held resources: the journal's open set, extended on `tick`, closed on `close_all`."""

    def __init__(self, profile: Profile, append: Append, *, now: Callable[[], float] = time.time,
                 say: Callable[[str], None] | None = None,
                 rollback_ended: Callable[[], float | None] = lambda: None) -> None:
        self.profile = profile
        self.append = append
        self.now = now
        self.say = say or (lambda text: None)
        self.rollback_ended = rollback_ended
        self.open: dict[tuple[str, str], Held] = {}
        self._handlers: dict[str, Handler | None] = {}
        self._watchers: list[Watcher] | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed_at: float | None = None   # when close_all ran (the rollback ended, or an abandon)
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}   # (kind, id) -> (failures, retry at)

    # -- the journal is the state ------------------------------------------------------------
    def apply(self, entry: dict[str, Any]) -> None:
        fold(self.open, entry)

    def handler(self, kind: str) -> Handler | None:
        if kind not in self._handlers:
            ref = HANDLERS.get(kind)
            self._handlers[kind] = _load(ref, self.profile) if ref else None
        return self._handlers[kind]

    def watchers(self) -> list[Watcher]:
        if self._watchers is None:
            found = [_load(ref, self.profile) for ref in WATCHERS]
            self._watchers = [w for w in found if w is not None]
        return self._watchers

    def _failed(self, held: Held | None, kind: str, action: str, reason: str, **extra: Any) -> None:
        self.append("held_failed", resource=kind, id=held.id if held else None, action=action, reason=reason,
                    what=held.what if held else extra.pop("what", None), **extra)
        self.say(f"{kind} {held.id if held else ''}: {action} failed: {reason}".replace("  ", " "))

    # -- open --------------------------------------------------------------------------------
    def adopt(self, step_id: str, detail: dict[str, Any], began: float | None = None) -> None:
        """A step opened resources (``detail["held"]``: one dict or a list): journal them (``began``: when
        the step started)."""
        items = detail.get("held")
        for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
            self.opened(str(item["kind"]), str(item["id"]), str(item.get("what", "")), step=step_id,
                        until=item.get("until"), params=dict(item.get("params") or {}), began=began)

    def opened(self, kind: str, ident: str, what: str, *, step: str | None, until: float | None,
               params: dict[str, Any], began: float | None = None) -> None:
        """Journal an opened resource. ``began``: when its open started (a step's start; None: unknown).

        An open that began before the rollback ended (or before an abandon closed everything)
        and finished after it missed the closes: it is closed at once. One that began after
        (a silence step fired once the rollback had ended) is the operator's choice and is
        kept; nothing extends it, and the report says it was left open.
        """
        self.append("held_opened", resource=kind, id=ident, what=what, step=step, until=until, params=params)
        if (kind, ident) not in self.open:   # not the driver (nothing journalled): still ours to close
            self.open[(kind, ident)] = Held(kind, ident, what, self.now(), step, until, params)
        ended = self.rollback_ended()
        cut = ended if ended is not None else self._closed_at
        if cut is not None and (began is None or began <= cut):
            self.spawn(self._close_late(kind, ident, ended), "held-close-late")

    async def _close_late(self, kind: str, ident: str, ended: float | None) -> None:
        async with self._lock:
            held = self.open.get((kind, ident))
            if held is not None:
                why = "the rollback had ended when it opened" if ended is not None else \
                    "it opened after the session's resources were closed"
                await self._close(held, why, ended)

    # -- while the rollback runs -------------------------------------------------------------
    async def tick(self) -> None:
        """Extend what is about to end by itself, while the rollback has not ended."""
        if self.rollback_ended() is not None or self._closed_at is not None:
            return
        async with self._lock:
            now = self.now()
            for held in list(self.open.values()):
                margin = float(held.params.get("margin", 0.0))
                if held.until is None or held.until - margin > now:
                    continue
                failures, retry_at = self._failures.get((held.kind, held.id), (0, 0.0))
                if now < retry_at:      # a broken server is asked again after a backoff, not every tick
                    continue
                handler = self.handler(held.kind)
                if handler is None:
                    continue
                try:
                    new_id, until = await handler.extend(held, now)
                except Exception as exc:
                    self._failed(held, held.kind, "extend", _reason(exc))
                    self._failures[(held.kind, held.id)] = (failures + 1, self.now() + min(RETRY_MAX, 2.0 ** failures))
                    continue
                self._failures.pop((held.kind, held.id), None)
                extra = {"new_id": new_id} if new_id != held.id else {}
                self.append("held_extended", resource=held.kind, id=held.id, until=until, **extra)
                if (held.kind, held.id) in self.open:      # not journalled (observer/broken): keep it current
                    self.open.pop((held.kind, held.id))
                    self.open[(held.kind, new_id)] = replace(held, id=new_id, until=until,
                                                             extended=held.extended + 1)

    async def run(self) -> None:
        """The driver's loop: `tick` on a clock (cancelled by the controller's stop). It wakes every
        `TICK_MIN` seconds: a resource opened after the loop went to sleep (a silence with a short
        margin) is never left waiting for a long period computed before it existed; a tick without
        anything due does no I/O."""
        while True:
            await asyncio.sleep(TICK_MIN)
            try:
                await self.tick()
            except Exception:      # a bug must not end the loop: the next tick tries again
                log.exception("held resources tick failed")

    # -- end ---------------------------------------------------------------------------------
    async def close_all(self, why: str, ended: float | None = None) -> None:
        """Close every open resource (the rollback ended, or the session is abandoned)."""
        async with self._lock:
            self._closed_at = self.now()
            for held in list(self.open.values()):
                await self._close(held, why, ended)

    async def _close(self, held: Held, why: str, ended: float | None) -> None:
        handler = self.handler(held.kind)
        if handler is None:
            self._failed(held, held.kind, "close", f"cockpit does not know how to close a {held.kind}")
            return
        try:
            how = await handler.close(held, self.now(), ended)
        except Exception as exc:
            self._failed(held, held.kind, "close", _reason(exc))
            return
        self.append("held_closed", resource=held.kind, id=held.id, how=how, reason=why)
        self.open.pop((held.kind, held.id), None)

    # -- resume ------------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """After a resume: ask about every resource the journal says is open."""
        async with self._lock:
            ended = self.rollback_ended()
            for held in list(self.open.values()):
                handler = self.handler(held.kind)
                if handler is None:
                    self._failed(held, held.kind, "reconcile", f"cockpit does not know a {held.kind}: left as it is")
                    continue
                try:
                    state, when = await handler.check(held)
                except Exception as exc:
                    self._failed(held, held.kind, "reconcile", _reason(exc))
                    continue
                if state == "open" and ended is not None:
                    await self._close(held, "the rollback had ended when the cockpit stopped", ended)
                elif state == "open":
                    self.append("held_checked", resource=held.kind, id=held.id, state="open", until=when)
                    if when is not None and when != held.until and (held.kind, held.id) in self.open:
                        self.open[(held.kind, held.id)] = replace(held, until=when)
                else:
                    how = "ended by itself" if state == "ended" else "gone (the server no longer knows it)"
                    self.append("held_closed", resource=held.kind, id=held.id, how=how,
                                reason="found so on resume")
                    self.open.pop((held.kind, held.id), None)

    # -- the rollback's own events (watchers), as background tasks -----------------------------
    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_rollback_start(self, ts: float) -> None:
        for w in self.watchers():
            self.spawn(w.rollback_started(self, ts), "held-rollback-start")

    def on_rollback_end(self, ts: float) -> None:
        self.spawn(self.close_all("the rollback ended", ts), "held-close")

    def on_step_end(self, step_id: str, state: str, started: float, ended: float) -> None:
        for w in self.watchers():
            self.spawn(w.step_ended(self, step_id, state, started, ended), "held-step-end")

    async def drain(self, timeout: float | None = None) -> None:
        """Let opens/closes in flight finish (the controller stops after them, before its journal closes).

        After ``timeout`` (`CLOSE_GRACE`) those still waiting are cancelled: an open cancelled so
        journals that it may exist all the same (``held_failed`` with ``unanswered``).
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_GRACE if timeout is None else timeout):
                while self._tasks:
                    await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def screen_line(entry: dict[str, Any]) -> tuple[str, str] | None:
    """What the screen says about a held-resource entry: (text, severity), or None."""
    t = entry.get("type")
    kind = str(entry.get("resource") or "annotation")
    ident = str(entry.get("id") or "")
    if t == "held_opened":
        return f"{kind} {ident} opened: {entry.get('what') or ''}", "information"
    if t == "held_extended":
        return f"{kind} {ident} extended", "information"
    if t == "held_closed":
        return f"{kind} {ident} {entry.get('how') or 'closed'}", "information"
    if t == "held_failed":
        return f"{kind} {ident}: {entry.get('action')} FAILED: {entry.get('reason')}".replace("  ", " "), "warning"
    return None
