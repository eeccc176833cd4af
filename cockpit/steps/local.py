"""``kind = "local"``: a shell command on the bastion itself, cwd = the profile's directory.

Output is streamed line by line as ``OutputLine(host="local")``, like remote steps,
bounded as it is read (`cockpit.output`: lines of at most 4096 characters, 64 KiB
kept). The command runs in its own process group (session): on timeout or
cancellation the whole group gets SIGTERM, then SIGKILL after ``KILL_GRACE``
seconds, so no child it started outlives the step.

It dies with the cockpit too, even on ``kill -9`` (Linux): the shell gets
``PR_SET_PDEATHSIG`` (SIGKILL when the cockpit dies) from util-linux's ``setpriv
--pdeathsig`` (an exec wrapper; never a ``preexec_fn``, which Python documents as unsafe
in a process with threads: the child can deadlock before its exec), and a watchdog process
(`WATCHDOG`, in its own session) holds the read end of a pipe whose write end only
the cockpit has: when the cockpit dies without saying "done", the pipe hits end
of file and the watchdog kills the whole group (SIGTERM, then SIGKILL), children
of the shell included. Its pid and group are told to ``ctx.on_process`` (the
controller journals them, and on resume says what still runs). The death signal
follows the thread that forked the shell: the event loop's thread, which lives as
long as the cockpit; the watchdog does not depend on it. Without ``setpriv`` on the
machine, the watchdog alone does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable

from cockpit.output import LineSplitter, Tail
from cockpit.profile.model import StepSpec
from cockpit.profile.vars import UndefinedVar
from cockpit.results import HostResult, OutputLine, StepResult
from cockpit.secrets import redact_lines
from cockpit.steps.base import StepFailure, finish, profile_dir
from cockpit.steps.context import StepContext

HOST = "local"
KILL_GRACE = 2.0
TAIL = 20

# The watchdog: argv = [pgid, grace]. Reads stdin (a pipe from the cockpit): a byte means the
# step ended and the cockpit is alive (stand down); end of file means the cockpit died.
WATCHDOG = """
import os, signal, sys, time
pgid, grace = int(sys.argv[1]), float(sys.argv[2])
try:
    said = os.read(0, 1)
except OSError:
    said = b""
if said:
    sys.exit(0)
try:
    os.killpg(pgid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end:
        time.sleep(0.05)
        os.killpg(pgid, 0)
    os.killpg(pgid, signal.SIGKILL)
except ProcessLookupError:
    pass
"""

# The shell checks that its parent is still the cockpit once the death signal is set: a cockpit
# that died between the fork and setpriv's prctl would otherwise leave it running.
_CHECKED_SHELL = 'test "$PPID" = "$1" || kill -KILL $$; exec /bin/sh -c "$2"'


def shell_argv(command: str, parent: int, setpriv: str | None) -> list[str]:
    """The argv that runs ``command`` with ``sh -c``, killed by the kernel when ``parent`` dies."""
    if setpriv is None or sys.platform != "linux":
        return ["/bin/sh", "-c", command]
    return [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", _CHECKED_SHELL, "sh", str(parent), command]


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
    """Emit lines as they arrive, each cut at `cockpit.output.MAX_LINE` characters as it is read."""
    lines = LineSplitter(lambda text: emit(name, text.rstrip("\r")))
    while chunk := await stream.read(1 << 16):
        lines.feed(chunk)
    lines.close()


async def _watchdog(pgid: int) -> asyncio.subprocess.Process | None:
    """The process that kills group ``pgid`` if the cockpit dies first (None: it could not start)."""
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", WATCHDOG, str(pgid), str(KILL_GRACE),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return None


async def _stand_down(watchdog: asyncio.subprocess.Process | None) -> None:
    """The step is over and the cockpit alive: let the watchdog exit without killing anything."""
    if watchdog is None:
        return
    if watchdog.stdin is not None:
        with contextlib.suppress(OSError, RuntimeError):
            watchdog.stdin.write(b"x")
            watchdog.stdin.close()
    try:
        await asyncio.wait_for(watchdog.wait(), 5.0)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            watchdog.kill()
        await watchdog.wait()


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
    tail = Tail(TAIL)

    def emit(stream: str, text: str) -> None:
        tail.append(text)   # raw: redacted as one text below, so a secret split over lines is found
        if on_output is not None:
            on_output(OutputLine(step.id, HOST, stream, ctx.redact(text), time.time()))

    try:
        command = command_of(step, ctx)
    except StepFailure as exc:
        return finish(step.id, "failed", started, command=step.command, scrub=ctx.redact, reason=exc.reason)
    cwd = profile_dir(ctx)
    spawn = asyncio.ensure_future(asyncio.create_subprocess_exec(
        *shell_argv(command, os.getpid(), shutil.which("setpriv")), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
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
    return await _supervised(step, ctx, proc, emit=emit, tail=tail, started=started, command=command, cwd=cwd)


async def _supervised(
    step: StepSpec, ctx: StepContext, proc: asyncio.subprocess.Process, *, emit: Callable[[str, str], None],
    tail: Tail, started: float, command: str, cwd: object,
) -> StepResult:
    """Run the started command to its end under a watchdog (see the module doc)."""
    starting = asyncio.ensure_future(_watchdog(proc.pid))
    try:
        watchdog = await asyncio.shield(starting)
    except asyncio.CancelledError:
        await asyncio.shield(_stop(proc))
        with contextlib.suppress(Exception):
            await asyncio.shield(_stand_down(await starting))
        raise
    try:
        if ctx.on_process is not None:
            ctx.on_process(proc.pid, proc.pid, watchdog.pid if watchdog is not None else None)
        return await _run(step, ctx, proc, emit=emit, tail=tail, started=started, command=command, cwd=cwd)
    finally:
        await asyncio.shield(_stand_down(watchdog))


async def _run(
    step: StepSpec, ctx: StepContext, proc: asyncio.subprocess.Process, *, emit: Callable[[str, str], None],
    tail: Tail, started: float, command: str, cwd: object,
) -> StepResult:
    assert proc.stdout is not None and proc.stderr is not None
    pumps = asyncio.gather(_pump(proc.stdout, "stdout", emit), _pump(proc.stderr, "stderr", emit))
    try:
        async with asyncio.timeout(step.timeout):
            await pumps
            status = await proc.wait()
    except TimeoutError:
        await _stop(proc)
        pumps.cancel()
        why = f"timed out after {step.timeout:g}s; the command and its children were killed"
        host = HostResult(HOST, "timeout", None, time.time() - started, tuple(redact_lines(ctx.redact, tail)), error=why)
        return finish(step.id, "failed", started, command=command, scrub=ctx.redact, reason=why,
                      hosts=(host,), detail={"cwd": str(cwd), "exit_status": None})
    except asyncio.CancelledError:
        pumps.cancel()
        await asyncio.shield(_stop(proc))
        raise
    ok = status == 0
    reason = None if ok else (f"exit status {status}" if status > 0 else f"killed by signal {-status}")
    host = HostResult(HOST, "ok" if ok else "failed", status, time.time() - started, tuple(redact_lines(ctx.redact, tail)), error=reason)
    return finish(step.id, "ok" if ok else "failed", started, command=command, scrub=ctx.redact,
                  reason=reason, hosts=(host,), detail={"cwd": str(cwd), "exit_status": status})
