"""Rolling a parallel ssh or an ansible step out in batches, with a failure budget and a gate between batches.

``batch = [1, "10%", "25%"]``: the step's hosts (in group order) are cut into batches of
those sizes, the last size repeating (Ansible's ``serial``). Each batch runs through the
:class:`~cockpit.runner.Runner` (an ansible step: ``run_batch``, one ``ansible-playbook
--limit`` run per batch) like a step of its own and ends before the next starts.
After each batch but the last:

- the failure budget: when more hosts failed so far (failed, timeout, unreachable) than
  ``max_fail`` (a count, or a share of all the step's hosts, rounded down; default 0),
  the rollout stops;
- a stop asked for by the operator (:meth:`Rollout.stop_after_batch`) stops it;
- the gate: ``wait_gate`` is awaited (the named checks on fresh live data); when it does
  not pass within its timeout, the rollout stops.

Hosts of batches never started are ``skipped``, with the reason the rollout stopped.
Cancelling the task (the operator's "cancel at once") stops the running batch's
commands, as for any step, and raises :class:`~cockpit.runner.StepCancelled`.

Progress goes to ``on_event(BatchEvent)``: ``batch_start``, ``batch_end``,
``gate_start``, ``gate_end``, ``stopped``; ``StepResult.detail["batches"]`` holds one
record per batch, with the gate's wait reported separately from the batch's own time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from cockpit.durations import format_duration
from cockpit.gate import GateOutcome
from cockpit.profile.model import GateSpec, StepSpec
from cockpit.results import HostResult, OutputLine, StepResult, StepState
from cockpit.runner import Runner, StepCancelled
from cockpit.sizes import plan, resolve

GateWaiter = Callable[[GateSpec], Awaitable[GateOutcome]]
# runs one batch: (hosts, on_output, on_host_done) -> the batch's result (an ansible step: one
# ansible-playbook run limited to the batch's hosts); raises StepCancelled when cancelled
BatchRunner = Callable[
    [list[str], Callable[[OutputLine], None] | None, Callable[[HostResult], None] | None],
    Awaitable[StepResult],
]


@dataclass(frozen=True)
class BatchEvent:
    step_id: str
    event: str  # batch_start | batch_end | gate_start | gate_end | stopped
    index: int  # 1-based batch number
    total: int  # number of batches planned
    hosts: tuple[str, ...] = ()
    ok: int = 0
    failed: int = 0
    waited: float = 0.0
    passed: bool | None = None
    reason: str = ""


@dataclass
class _Record:
    index: int
    hosts: tuple[str, ...]
    started: float
    duration: float = 0.0
    ok: int = 0
    failed: int = 0
    gate_wait: float | None = None
    gate_passed: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {"batch": self.index, "hosts": len(self.hosts), "ok": self.ok, "failed": self.failed,
                "duration": round(self.duration, 3),
                "gate_wait": None if self.gate_wait is None else round(self.gate_wait, 3),
                "gate_passed": self.gate_passed}


@dataclass
class Rollout:
    runner: Runner | None
    step: StepSpec
    hosts: Sequence[str] | None = None
    gate: GateWaiter | None = None
    on_event: Callable[[BatchEvent], None] | None = None
    on_output: Callable[[OutputLine], None] | None = None
    on_host_done: Callable[[HostResult], None] | None = None
    run_batch: BatchRunner | None = None   # None: each batch through ``runner`` (an ssh step)
    _stop_asked: bool = False
    _results: list[HostResult] = field(default_factory=list)
    _records: list[_Record] = field(default_factory=list)
    _batches: list[tuple[str, ...]] = field(default_factory=list)

    def stop_after_batch(self) -> None:
        """Let the running batch finish, then stop: the remaining hosts are skipped."""
        self._stop_asked = True

    @property
    def stopping(self) -> bool:
        return self._stop_asked

    async def run(self) -> StepResult:
        step, started = self.step, time.time()
        targets = self._targets()
        if not targets:
            return await self._run(targets)  # the executor words "no hosts"
        sizes = plan(step.batch, len(targets))
        allowed = resolve(step.max_fail, len(targets), at_least_one=False)
        batches: list[tuple[str, ...]] = self._batches
        at = 0
        for n in sizes:
            batches.append(tuple(targets[at : at + n]))
            at += n
        command: str | None = None
        stopped: str | None = None
        for i, batch in enumerate(batches, 1):
            record = _Record(i, batch, time.monotonic())
            self._records.append(record)
            self._emit(BatchEvent(step.id, "batch_start", i, len(batches), batch))
            try:
                result = await self._run(list(batch))
            except StepCancelled as exc:
                self._take(record, exc.result)
                rest = [h for b in batches[i:] for h in b]
                self._skip(rest, "not run: the step was cancelled")
                raise StepCancelled(self._result(started, exc.result.command, "cancelled",
                                                 "cancelled by the operator")) from None
            command = result.command
            if not result.hosts:  # the runner could not run the step at all
                return result
            self._take(record, result)
            self._emit(BatchEvent(step.id, "batch_end", i, len(batches), batch, record.ok, record.failed))
            if i == len(batches):
                break
            failed = sum(r.state != "ok" for r in self._results)
            if failed > allowed:
                stopped = (f"stopped after batch {i} of {len(batches)}: {failed} hosts failed, more than "
                           f"max_fail {step.max_fail} ({allowed} of {len(targets)})")
            elif self._stop_asked:
                stopped = f"stopped by the operator after batch {i} of {len(batches)}"
            elif step.gate is not None and self.gate is not None:
                stopped = await self._wait_gate(step.gate, record, i, len(batches), started=started,
                                                 command=command)
            if stopped:
                self._emit(BatchEvent(step.id, "stopped", i, len(batches), reason=stopped))
                self._skip([h for b in batches[i:] for h in b], f"not run: {stopped}")
                break
        return self._result(started, command, None, stopped)

    # -- internals -------------------------------------------------------------------------

    def _targets(self) -> list[str]:
        if self.runner is not None:
            return self.runner.hosts_for(self.step, self.hosts)
        return list(dict.fromkeys(self.hosts or ()))

    async def _run(self, hosts: list[str]) -> StepResult:
        if self.run_batch is not None:
            return await self.run_batch(hosts, self.on_output, self.on_host_done)
        assert self.runner is not None, "a Rollout needs a runner or run_batch"
        return await self.runner.run(self.step, hosts=hosts, on_output=self.on_output,
                                     on_host_done=self.on_host_done)

    async def _wait_gate(self, gate: GateSpec, record: _Record, i: int, total: int, *, started: float,
                         command: str | None) -> str | None:
        assert self.gate is not None
        self._emit(BatchEvent(self.step.id, "gate_start", i, total, reason=", ".join(gate.checks)))
        t0 = time.monotonic()
        try:
            outcome = await self.gate(gate)
        except asyncio.CancelledError:
            record.gate_wait = time.monotonic() - t0
            self._skip([h for b in self._batches[i:] for h in b], "not run: the step was cancelled")
            raise StepCancelled(self._result(started, command, "cancelled", "cancelled by the operator")) from None
        record.gate_wait, record.gate_passed = outcome.waited, outcome.passed
        self._emit(BatchEvent(self.step.id, "gate_end", i, total, waited=outcome.waited, passed=outcome.passed,
                              reason=outcome.reason))
        if outcome.passed:
            return None
        return f"gate after batch {i} of {total} did not pass: {outcome.reason}"

    def _take(self, record: _Record, result: StepResult) -> None:
        record.duration = time.monotonic() - record.started
        record.ok = sum(h.state == "ok" for h in result.hosts)
        record.failed = len(result.hosts) - record.ok
        self._results.extend(result.hosts)

    def _skip(self, hosts: Sequence[str], why: str) -> None:
        for host in hosts:
            skipped = HostResult(host, "skipped", None, 0.0, (), why)
            self._results.append(skipped)
            if self.on_host_done is not None:
                self.on_host_done(skipped)

    def _emit(self, event: BatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _result(self, started: float, command: str | None, forced: StepState | None,
                stopped: str | None) -> StepResult:
        hosts = tuple(self._results)
        ok = sum(h.state == "ok" for h in hosts)
        state: StepState = forced or ("ok" if ok == len(hosts) else "failed" if ok == 0 else "partial")
        bad = [h for h in hosts if h.state not in ("ok", "skipped")]
        parts: list[str] = []
        if forced is None and state != "ok":
            parts.append(f"{ok} of {len(hosts)} hosts ok")
        if stopped:
            parts.append(stopped)
        if bad and forced is None:
            shown = "; ".join(f"{h.host}: {h.error or h.state}" for h in bad[:3])
            parts.append(shown + (f"; and {len(bad) - 3} more" if len(bad) > 3 else ""))
        waits = [r.gate_wait for r in self._records if r.gate_wait is not None]
        detail: dict[str, object] = {
            "batches": [r.as_dict() for r in self._records],
            "gate_wait_total": round(sum(waits), 3),
        }
        if stopped:
            detail["stopped"] = stopped
        reason = stopped if forced else (" — ".join(parts) if parts else None)
        if forced == "cancelled":
            reason = stopped
        return StepResult(self.step.id, state, command or self.step.command, started, time.time(), hosts,
                          reason, detail)


def describe_event(e: BatchEvent) -> str:
    """One line for the screen and ``cockpit run``: ``batch 2/6: 2 hosts`` …"""
    head = f"{e.step_id}: batch {e.index}/{e.total}"
    if e.event == "batch_start":
        return f"{head}: starting on {len(e.hosts)} host{'s' if len(e.hosts) != 1 else ''}"
    if e.event == "batch_end":
        return f"{head}: {e.ok} ok, {e.failed} failed"
    if e.event == "gate_start":
        return f"{head}: waiting for the gate ({e.reason})"
    if e.event == "gate_end":
        verdict = "passed" if e.passed else "NOT passed"
        return f"{head}: gate {verdict} after {format_duration(e.waited)}: {e.reason}"
    return f"{head}: {e.reason}"
