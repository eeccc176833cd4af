"""``Runner``: the only place that executes remote commands.

A step runs on its host group over the pool's open connections:

- ``parallel``: every host at once (at most ``concurrency`` when set);
- ``serial``: host by host, stopping at the first failure unless ``continue_on_error``
  (the rest are ``skipped``);
- ``once``: exactly one host, the first reachable in group order. Unreachable hosts
  are passed over BEFORE anything runs; once the command was started on a host it is
  never started on another, whatever happens. ``StepResult.hosts`` holds that one
  host; ``detail["unreachable"]`` the hosts passed over and why.

A host is ``ok`` when its command exits 0 and, if the step has ``verify``, the verify
command (run right after, on that host only) gives the expected exit status and
output. The step is ``ok`` (every host ok), ``failed`` (none) or ``partial``.

Cancelling: cancel the task running :meth:`Runner.run`. Every running command is
stopped (its channel closed: the pty hangs up), ``on_host_done`` is called for every
host that had not finished (state ``cancelled``), and ``run`` raises
:class:`StepCancelled` — an ``asyncio.CancelledError`` whose ``result`` is the
``StepResult`` (state ``cancelled``; finished hosts keep ``ok``/``failed``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncssh

from cockpit.collector import full_collections_deferred
from cockpit.durations import format_duration
from cockpit.output import Tail
from cockpit.profile.model import Profile, StepSpec
from cockpit.profile.vars import UndefinedVar
from cockpit.results import HostResult, HostState, OutputLine, StepResult, StepState
from cockpit.ssh.command import CommandLost, run_command
from cockpit.ssh.errors import RemoteCommandError, SshError
from cockpit.ssh.pool import SshPool

TAIL_LINES = 50
SAMPLE_LINES = 10_000   # lines a sample, a verify or a preview keeps (64 KiB in all, `cockpit.output`)
VERIFY_STREAM = "verify"  # OutputLine.stream of the verify command's lines

OutputHandler = Callable[[OutputLine], None]
HostDoneHandler = Callable[[HostResult], None]


class StepCancelled(asyncio.CancelledError):
    """Raised by :meth:`Runner.run` when its task is cancelled; ``result`` says what each host did."""

    def __init__(self, result: StepResult) -> None:
        super().__init__(f"step {result.step_id} cancelled")
        self.result = result


class RunnerError(Exception):
    """A step the runner cannot run at all (no preview, undefined var, ...)."""


@dataclass
class _HostRun:
    host: str
    started: float | None = None
    tail: Tail = field(default_factory=lambda: Tail(TAIL_LINES))   # bounded: lines and characters
    result: HostResult | None = None
    unstopped: str | None = None    # pty = false: why a stop could not reach the remote command

    def stopped(self) -> str:
        return self.unstopped or "remote command stopped"


@dataclass
class _Job:
    step: StepSpec
    command: str
    verify_command: str | None
    verify_output: re.Pattern[str] | None
    on_output: OutputHandler | None
    on_host_done: HostDoneHandler | None
    runs: dict[str, _HostRun]


class Runner:
    def __init__(self, profile: Profile, pool: SshPool) -> None:
        self._profile = profile
        self._pool = pool

    def hosts_for(self, step: StepSpec, hosts: Sequence[str] | None = None) -> list[str]:
        """The hosts ``step`` runs on: ``hosts`` when given, else its group, in order, once each."""
        chosen = hosts if hosts is not None else self._profile.hosts.get(step.hosts or "", ())
        return list(dict.fromkeys(chosen))

    async def run(
        self,
        step: StepSpec,
        *,
        hosts: Sequence[str] | None = None,
        on_output: OutputHandler | None = None,
        on_host_done: HostDoneHandler | None = None,
    ) -> StepResult:
        """Run ``step`` on its hosts (see the module doc for modes and cancelling)."""
        started = time.time()
        try:
            job = self._job(step, self.hosts_for(step, hosts), on_output, on_host_done)
        except RunnerError as exc:
            return StepResult(step.id, "failed", step.command, started, time.time(), reason=str(exc))
        detail: dict[str, object] = {}
        mode = {"parallel": self._parallel, "serial": self._serial, "once": self._once}[step.run]
        try:
            with full_collections_deferred():   # not a walk over every connection in the middle of a fan-out
                await mode(job, detail)
        except asyncio.CancelledError:
            for run in job.runs.values():
                if run.result is None and (step.run != "once" or run.started is not None):
                    self._finish(job, run, "cancelled", error="step cancelled before it finished")
            raise StepCancelled(self._result(job, started, detail, cancelled=True)) from None
        return self._result(job, started, detail, cancelled=False)

    async def preview(self, step: StepSpec) -> str:
        """The step's ``preview`` command's output, each line prefixed ``host: ``.

        Runs on the host the step would run on (``once``: the first reachable one), or on
        every host of a parallel/serial step. Remote failures are reported in the text.
        """
        if not step.preview:
            raise RunnerError(f"step {step.id} has no preview command")
        try:
            command = self._profile.expand(step.preview)
        except UndefinedVar as exc:
            raise RunnerError(f"step {step.id}: preview uses undefined var {{{exc.args[0]}}}") from None
        targets = self.hosts_for(step)
        if not targets:
            raise RunnerError(f"step {step.id}: no hosts (group {step.hosts!r} is empty or unknown)")
        if step.run == "once":
            lines: list[str] = []
            for host in targets:
                try:
                    await self._pool.connection(host)
                except SshError as exc:
                    lines.append(f"{host}: unreachable: {exc.reason}")
                    continue
                lines.extend(await self._preview_on(host, command, step.timeout))
                break
            return "\n".join(lines)
        chunks = await asyncio.gather(*(self._preview_on(h, command, step.timeout) for h in targets))
        return "\n".join(line for chunk in chunks for line in chunk)

    async def sample(self, host: str, command: str, timeout: float) -> str:
        """Run ``command`` (as given: no ``{var}`` expansion) on ``host``; its output.

        Raises :class:`SshError` (unreachable) or :class:`RemoteCommandError` (non-zero
        exit, timeout, lost channel). Output is stdout and stderr merged (a pty).
        """
        conn = await self._pool.connection(host)
        lines = Tail(SAMPLE_LINES)
        try:
            async with self._pool.session_slot(host):
                status = await run_command(conn, command, timeout=timeout, on_line=lines.append)
        except TimeoutError:
            raise RemoteCommandError(host, f"`{command}` timed out after {format_duration(timeout)}") from None
        except CommandLost as exc:
            raise RemoteCommandError(host, f"`{command}`: {exc}") from None
        if status != 0:
            last = next((line for line in reversed(lines) if line.strip()), "")
            raise RemoteCommandError(
                host, f"`{command}` exited with status {status}" + (f": {last.strip()}" if last else "")
            )
        return lines.text()

    # -- building ------------------------------------------------------------------------

    def _job(
        self,
        step: StepSpec,
        targets: list[str],
        on_output: OutputHandler | None,
        on_host_done: HostDoneHandler | None,
    ) -> _Job:
        from cockpit.kinds import step_kind

        if not step_kind(step.kind).runner:
            raise RunnerError(f"step {step.id} is a {step.kind} step, not ssh")
        if not step.command:
            raise RunnerError(f"step {step.id} has no command")
        if not targets:
            raise RunnerError(f"step {step.id}: no hosts (group {step.hosts!r} is empty or unknown)")
        try:
            command = self._profile.expand(step.command)
            verify_command = self._profile.expand(step.verify.command) if step.verify else None
        except UndefinedVar as exc:
            raise RunnerError(f"step {step.id} uses undefined var {{{exc.args[0]}}}") from None
        pattern = None
        if step.verify and step.verify.output:
            try:
                pattern = re.compile(step.verify.output, re.MULTILINE)
            except re.error as exc:
                raise RunnerError(f"step {step.id}: bad verify output regex: {exc}") from None
        runs = {h: _HostRun(h) for h in targets}
        return _Job(step, command, verify_command, pattern, on_output, on_host_done, runs)

    def _result(self, job: _Job, started: float, detail: dict[str, object], *, cancelled: bool) -> StepResult:
        results = tuple(r.result for r in job.runs.values() if r.result is not None)
        ok = sum(r.state == "ok" for r in results)
        state: StepState
        if cancelled:
            state = "cancelled"
        elif results and ok == len(results):
            state = "ok"
        else:
            state = "failed" if ok == 0 else "partial"
        bad = [r for r in results if r.state != "ok"]
        reason = None
        if cancelled:
            reason = "cancelled"
        elif bad:
            shown = "; ".join(f"{r.host}: {r.error or r.state}" for r in bad[:3])
            more = f"; and {len(bad) - 3} more" if len(bad) > 3 else ""
            reason = f"{ok} of {len(results)} hosts ok — {shown}{more}"
        elif not results:
            reason = str(detail.get("reason", "no host ran the step"))
        return StepResult(
            job.step.id, state, job.command, started, time.time(), results, reason, detail
        )

    # -- modes ---------------------------------------------------------------------------

    async def _parallel(self, job: _Job, detail: dict[str, object]) -> None:
        limit = job.step.concurrency
        gate = asyncio.Semaphore(limit) if limit > 0 else None

        async def one(run: _HostRun) -> None:
            if gate is None:
                await self._on_host(job, run)
                return
            async with gate:
                await self._on_host(job, run)

        tasks = [asyncio.ensure_future(one(r)) for r in job.runs.values()]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            # gather has cancelled every host, and gives up at the first one done cancelling; a
            # host without a pty is still killing its command from a second session then (a
            # second cancel would cut that short). The step is over, and each host reported
            # once, only when every host's stop is.
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _serial(self, job: _Job, detail: dict[str, object]) -> None:
        runs = list(job.runs.values())
        for i, run in enumerate(runs):
            result = await self._on_host(job, run)
            if result.state != "ok" and not job.step.continue_on_error:
                for rest in runs[i + 1 :]:
                    self._finish(job, rest, "skipped", error=f"not run: {run.host} failed first")
                return

    async def _once(self, job: _Job, detail: dict[str, object]) -> None:
        unreachable: dict[str, str] = {}
        detail["unreachable"] = unreachable
        for run in list(job.runs.values()):
            try:
                conn = await self._pool.connection(run.host)
            except SshError as exc:
                unreachable[run.host] = exc.reason
                continue
            detail["ran_on"] = run.host
            run.started = time.monotonic()
            await self._exec(job, run, conn)
            return
        # nobody reachable: report every host as unreachable
        for run in job.runs.values():
            run.started = time.monotonic()
            self._finish(job, run, "unreachable", error=unreachable[run.host])
        detail["reason"] = "no host of the group is reachable"

    # -- one host ------------------------------------------------------------------------

    async def _on_host(self, job: _Job, run: _HostRun) -> HostResult:
        run.started = time.monotonic()
        try:
            conn = await self._pool.connection(run.host)
        except SshError as exc:
            return self._finish(job, run, "unreachable", error=exc.reason)
        return await self._exec(job, run, conn)

    async def _exec(self, job: _Job, run: _HostRun, conn: asyncssh.SSHClientConnection) -> HostResult:
        step = job.step
        try:
            status = await self._command(job, run, conn, job.command, "stdout")
        except TimeoutError:
            return self._finish(
                job, run, "timeout",
                error=f"timed out after {format_duration(step.timeout)}; {run.stopped()}",
            )
        except CommandLost as exc:
            return self._finish(job, run, "failed", error=str(exc))
        except asyncio.CancelledError:
            self._finish(job, run, "cancelled", error=f"cancelled; {run.stopped()}")
            raise
        if status != 0:
            return self._finish(job, run, "failed", exit_status=status, error=f"exit status {status}")
        if job.verify_command is None:
            return self._finish(job, run, "ok", exit_status=0)
        return await self._verify(job, run, conn)

    async def _verify(self, job: _Job, run: _HostRun, conn: asyncssh.SSHClientConnection) -> HostResult:
        spec = job.step.verify
        assert spec is not None and job.verify_command is not None
        out = Tail(SAMPLE_LINES)
        try:
            status = await self._command(job, run, conn, job.verify_command, VERIFY_STREAM, out=out)
        except TimeoutError:
            return self._finish(job, run, "failed", exit_status=0, verify_ok=False,
                                error=f"verify timed out after {format_duration(job.step.timeout)}")
        except CommandLost as exc:
            return self._finish(job, run, "failed", exit_status=0, verify_ok=False, error=f"verify: {exc}")
        except asyncio.CancelledError:
            self._finish(job, run, "cancelled", exit_status=0, error="cancelled during verify")
            raise
        problems = []
        if spec.exit_status is not None and status != spec.exit_status:
            problems.append(f"exit status {status}, expected {spec.exit_status}")
        if job.verify_output is not None and not job.verify_output.search(out.text()):
            problems.append(f"output does not match /{job.verify_output.pattern}/")
        if problems:
            return self._finish(job, run, "failed", exit_status=0, verify_ok=False, verify_exit_status=status,
                                error="verify failed: " + "; ".join(problems))
        return self._finish(job, run, "ok", exit_status=0, verify_ok=True, verify_exit_status=status)

    async def _command(
        self, job: _Job, run: _HostRun, conn: asyncssh.SSHClientConnection, command: str, stream: str,
        *, out: Tail | None = None,
    ) -> int:
        def line(text: str) -> None:
            run.tail.append(text)
            if out is not None:
                out.append(text)
            if job.on_output is not None:
                job.on_output(OutputLine(job.step.id, run.host, stream, text, time.time()))

        async with self._pool.session_slot(run.host):
            return await run_command(conn, command, timeout=job.step.timeout, on_line=line, pty=job.step.pty,
                                     on_unstopped=lambda why: setattr(run, "unstopped", why))

    async def _preview_on(self, host: str, command: str, timeout: float) -> list[str]:
        lines = Tail(SAMPLE_LINES)
        try:
            conn = await self._pool.connection(host)
            async with self._pool.session_slot(host):
                status = await run_command(conn, command, timeout=timeout, on_line=lines.append)
        except SshError as exc:
            return [f"{host}: unreachable: {exc.reason}"]
        except TimeoutError:
            status = None
            lines.append(f"(timed out after {format_duration(timeout)})")
        except CommandLost as exc:
            status = None
            lines.append(f"({exc})")
        if status:
            lines.append(f"(exit status {status})")
        return [f"{host}: {text}" for text in lines]

    def _finish(
        self,
        job: _Job,
        run: _HostRun,
        state: HostState,
        *,
        exit_status: int | None = None,
        error: str | None = None,
        verify_ok: bool | None = None,
        verify_exit_status: int | None = None,
    ) -> HostResult:
        duration = time.monotonic() - run.started if run.started is not None else 0.0
        run.result = HostResult(
            run.host, state, exit_status, duration, tuple(run.tail), error, verify_ok, verify_exit_status
        )
        if job.on_host_done is not None:
            job.on_host_done(run.result)
        return run.result
