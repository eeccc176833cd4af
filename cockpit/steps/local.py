"""``kind = "local"``: a shell command on the bastion itself, cwd = the profile's directory.

Output is streamed line by line as ``OutputLine(host="local")``, like remote steps.
The command runs in its own process group (session): on timeout or cancellation
the whole group gets SIGTERM, then SIGKILL after ``KILL_GRACE`` seconds, so no
child it started outlives the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable

from cockpit.profile.model import StepSpec
from cockpit.profile.vars import UndefinedVar
from cockpit.results import HostResult, OutputLine, StepResult
from cockpit.steps.base import StepFailure, finish, profile_dir
from cockpit.steps.context import StepContext

HOST = "local"
KILL_GRACE = 2.0
TAIL = 20
MAX_LINE = 1 << 16


def command_of(step: StepSpec, ctx: StepContext) -> str:
    if not step.command:
        raise StepFailure(f"step {step.id} is kind local but has no `command`")
    try:
        return ctx.profile.expand(step.command)
    except UndefinedVar as exc:
        raise StepFailure(f"step {step.id}: command uses {{{exc.args[0]}}}, which is not in [vars]") from None


def preview(step: StepSpec, ctx: StepContext) -> str:
    return f"local (on this machine, in {profile_dir(ctx)}):\n$ {command_of(step, ctx)}"


async def _pump(
    stream: asyncio.StreamReader,
    name: str,
    emit: Callable[[str, str], None],
) -> None:
    """Emit complete lines as they arrive; a line longer than ``MAX_LINE`` is emitted in pieces."""
    pending = b""
    while chunk := await stream.read(1 << 16):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        while len(pending) >= MAX_LINE:
            lines.append(pending[:MAX_LINE])
            pending = pending[MAX_LINE:]
        for raw in lines:
            emit(name, raw.decode(errors="replace").rstrip("\r"))
    if pending:
        emit(name, pending.decode(errors="replace").rstrip("\r"))


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the process group, SIGKILL it if the leader is still there after the grace period."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE)
    except TimeoutError:
        pass
    # Children may ignore SIGTERM even when the shell exited: the group is killed regardless.
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


async def execute(
    step: StepSpec, ctx: StepContext, on_output: Callable[[OutputLine], None] | None = None
) -> StepResult:
    started = time.time()
    tail: deque[str] = deque(maxlen=TAIL)

    def emit(stream: str, text: str) -> None:
        tail.append(text)   # raw: redacted as one text below, so a secret split over lines is found
        if on_output is not None:
            on_output(OutputLine(step.id, HOST, stream, ctx.redact(text), time.time()))

    def redacted_tail() -> tuple[str, ...]:
        return tuple(ctx.redact("\n".join(tail)).split("\n")) if tail else ()

    try:
        command = command_of(step, ctx)
    except StepFailure as exc:
        return finish(step.id, "failed", started, command=step.command, scrub=ctx.redact, reason=exc.reason)
    cwd = profile_dir(ctx)
    spawn = asyncio.ensure_future(asyncio.create_subprocess_shell(
        command, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True,
    ))
    try:
        # Shielded: a cancel arriving while asyncio still sets up the pipes would otherwise kill
        # only the shell and orphan whatever it already started.
        proc = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        with contextlib.suppress(OSError):
            await _stop(await spawn)
        raise
    except OSError as exc:
        reason = f"cannot start the command in {cwd}: {exc.strerror or exc}"
        host = HostResult(HOST, "failed", None, time.time() - started, error=reason)
        return finish(step.id, "failed", started, command=command, scrub=ctx.redact, reason=reason, hosts=(host,))
    assert proc.stdout is not None and proc.stderr is not None
    pumps = asyncio.gather(_pump(proc.stdout, "stdout", emit), _pump(proc.stderr, "stderr", emit))
    try:
        async with asyncio.timeout(step.timeout):
            await pumps
            status = await proc.wait()
    except TimeoutError:
        await _stop(proc)
        pumps.cancel()
        reason = f"timed out after {step.timeout:g}s; the command and its children were killed"
        host = HostResult(HOST, "timeout", None, time.time() - started, redacted_tail(), error=reason)
        return finish(step.id, "failed", started, command=command, scrub=ctx.redact, reason=reason,
                      hosts=(host,), detail={"cwd": str(cwd), "exit_status": None})
    except asyncio.CancelledError:
        pumps.cancel()
        await asyncio.shield(_stop(proc))
        raise
    ok = status == 0
    reason = None if ok else (f"exit status {status}" if status > 0 else f"killed by signal {-status}")
    host = HostResult(HOST, "ok" if ok else "failed", status, time.time() - started, redacted_tail(), error=reason)
    return finish(step.id, "ok" if ok else "failed", started, command=command, scrub=ctx.redact,
                  reason=reason, hosts=(host,), detail={"cwd": str(cwd), "exit_status": status})
