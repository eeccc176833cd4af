"""Local commands on the bastion: streamed output, exit status, timeouts that kill the whole group."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path

import pytest

from cockpit.output import MAX_LINE, TRUNCATED
from cockpit.profile.model import StepSpec
from cockpit.results import OutputLine
from cockpit.steps import execute, local, preview
from tests.steps.conftest import make_ctx


def local_step(command: str, timeout: float = 10.0) -> StepSpec:
    return StepSpec(id="audit", title="Compatibility audit", phase="post-rollback", kind="local",
                    command=command, timeout=timeout)


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for a reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in {"Z", "X"}


def wait_until(predicate: object, deadline: float = 5.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


async def test_streams_lines_from_profile_dir(tmp_path: Path) -> None:
    tools = tmp_path / "tools" / "preflight"
    tools.mkdir(parents=True)
    script = tools / "compatibility_audit.sh"
    script.write_text('#!/bin/sh\necho "mode=$1"\npwd\necho "drift: none" >&2\n')
    script.chmod(0o755)
    step = local_step("{audit} --mode=post-rollback")
    lines: list[OutputLine] = []
    result = await execute(step, make_ctx(tmp_path, step, vars={"audit": "tools/preflight/compatibility_audit.sh"}),
                           lines.append)

    assert result.ok, result.reason
    assert result.command == "tools/preflight/compatibility_audit.sh --mode=post-rollback"
    assert [(ln.host, ln.stream) for ln in lines if ln.stream == "stdout"] == [("local", "stdout")] * 2
    stdout = [ln.text for ln in lines if ln.stream == "stdout"]
    assert stdout == ["mode=--mode=post-rollback", str(tmp_path.resolve())]
    assert [ln.text for ln in lines if ln.stream == "stderr"] == ["drift: none"]
    assert all(ln.step_id == "audit" for ln in lines)
    (host,) = result.hosts
    assert host.host == "local" and host.state == "ok" and host.exit_status == 0
    assert set(host.tail) == {"mode=--mode=post-rollback", str(tmp_path.resolve()), "drift: none"}


async def test_failing_command(tmp_path: Path) -> None:
    step = local_step("echo checking; exit 3")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == "exit status 3"
    assert result.hosts[0].exit_status == 3
    assert result.hosts[0].tail == ("checking",)


async def test_output_is_redacted(tmp_path: Path) -> None:
    step = local_step("echo token=abcd-secret-1234")
    lines: list[OutputLine] = []
    ctx = make_ctx(tmp_path, step, redact=lambda t: t.replace("abcd-secret-1234", "[redacted]"))
    result = await execute(step, ctx, lines.append)
    assert result.ok
    assert [ln.text for ln in lines] == ["token=[redacted]"]
    assert "abcd-secret-1234" not in repr(result)


async def test_timeout_kills_the_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "KILL_GRACE", 0.3)
    # The shell ignores SIGTERM and leaves a background child: both must be gone afterwards.
    step = local_step("trap '' TERM; sleep 60 & echo $! > child.pid; echo $$ > shell.pid; echo started; wait",
                      timeout=0.7)
    lines: list[OutputLine] = []
    result = await execute(step, make_ctx(tmp_path, step), lines.append)

    assert result.state == "failed"
    assert result.reason == "timed out after 0.7s; the command and its children were killed"
    assert result.hosts[0].state == "timeout"
    assert [ln.text for ln in lines] == ["started"]
    for name in ("shell.pid", "child.pid"):
        pid = int((tmp_path / name).read_text())
        assert wait_until(lambda pid=pid: gone(pid)), f"{name} {pid} still running"


async def test_cancel_kills_the_process_group(tmp_path: Path) -> None:
    step = local_step("sleep 60 & echo $! > child.pid; wait")
    task = asyncio.create_task(execute(step, make_ctx(tmp_path, step)))
    pidfile = tmp_path / "child.pid"
    end = time.monotonic() + 5
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < end:
        await asyncio.sleep(0.02)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_until(lambda: gone(pid))


async def test_undefined_var_is_a_clear_failure(tmp_path: Path) -> None:
    step = local_step("{nope} --mode=post-rollback")
    result = await execute(step, make_ctx(tmp_path, step))
    assert result.state == "failed"
    assert result.reason == "step audit: command uses {nope}, which is not in [vars]"


async def test_long_line_without_newline_is_cut_as_it_is_read(tmp_path: Path) -> None:
    """3 MB without a newline, then a short line: one line of MAX_LINE characters marked truncated, then the next."""
    step = local_step("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after")
    lines: list[OutputLine] = []
    result = await execute(step, make_ctx(tmp_path, step), lines.append)
    assert result.ok, result.reason
    assert [ln.text for ln in lines] == ["x" * MAX_LINE + TRUNCATED, "after"]
    assert result.hosts[0].tail == ("x" * MAX_LINE + TRUNCATED, "after")


async def test_preview_names_the_command_and_directory(tmp_path: Path) -> None:
    step = local_step("{audit} --mode=post-rollback")
    text = await preview(step, make_ctx(tmp_path, step, vars={"audit": "tools/audit.sh"}))
    assert text == f"local (on this machine, in {tmp_path.resolve()}):\n$ tools/audit.sh --mode=post-rollback"


async def test_cancel_while_spawning_leaves_nothing_behind(tmp_path: Path) -> None:
    """A cancel that lands while asyncio is still connecting the pipes must kill the group too
    (otherwise the shell dies, its child lives on holding the pipes, and the cancel waits for it)."""
    for turns in range(6):
        work = tmp_path / str(turns)
        work.mkdir()
        (work / "profile.toml").touch()
        step = local_step("sleep 60 & echo $! > child.pid; wait")
        task = asyncio.create_task(execute(step, make_ctx(work, step)))
        for _ in range(turns):
            await asyncio.sleep(0)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - t0 < 5
        pidfile = work / "child.pid"
        if pidfile.exists() and pidfile.read_text().strip():
            pid = int(pidfile.read_text())
            assert wait_until(lambda pid=pid: gone(pid))


async def test_the_watchdog_stands_down_when_the_step_ends_and_leaves_background_jobs_alone(tmp_path: Path) -> None:
    """Only the cockpit's death kills the group: a step that ends normally keeps its detached jobs."""
    step = local_step("sleep 30 >/dev/null 2>&1 </dev/null & echo $! > bg.pid; echo started")
    told: list[tuple[int, int, int | None]] = []
    ctx = dataclasses.replace(make_ctx(tmp_path, step), on_process=lambda *a: told.append(a))
    result = await execute(step, ctx)
    assert result.ok, result.reason
    (pid, pgid, watchdog), = told
    assert pid == pgid and watchdog is not None
    assert gone(watchdog), "the watchdog outlived its step"
    background = int((tmp_path / "bg.pid").read_text())
    try:
        assert not gone(background), "a normal end must not kill what the step left running on purpose"
    finally:
        os.kill(background, 9)
