"""Runner against real sshds: modes, timeouts that kill, cancel, verify, output, preview, sample."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest

from cockpit.collector import NEVER
from cockpit.profile.model import VerifySpec
from cockpit.results import HostResult, OutputLine
from cockpit.runner import Runner, RunnerError, StepCancelled
from cockpit.ssh import RemoteCommandError, SshError
from cockpit.ssh.pool import MAX_SESSIONS, SshPool
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import (
    HOSTS,
    LOCAL_ADDR,
    PTY_BOTH,
    alive,
    kill_quietly,
    make_profile,
    pids_in,
    poll,
    step,
)
from tests.support.poll import until
from tests.support.sshd import TestSshd


async def test_once_runs_on_exactly_one_host_of_twenty(runner: Runner, remote_dir: Path) -> None:
    cmd = f"touch {remote_dir}/once-{LOCAL_ADDR}; echo ran"
    result = await runner.run(step(cmd, run="once"))
    assert result.state == "ok", result
    assert [p.name for p in remote_dir.iterdir()] == ["once-127.0.2.1"]
    assert [h.host for h in result.hosts] == ["h01"]
    assert result.detail["ran_on"] == "h01"


async def test_once_skips_an_unreachable_first_host(sshd: SshdCluster, remote_dir: Path) -> None:
    profile = make_profile(sshd, {"console": ("dead-1", "dead-2", "h07", "h08")})
    pool = SshPool(profile)
    try:
        result = await Runner(profile, pool).run(
            step(f"touch {remote_dir}/once-{LOCAL_ADDR}", hosts="console", run="once")
        )
    finally:
        await pool.close()
    assert result.state == "ok"
    assert [p.name for p in remote_dir.iterdir()] == ["once-127.0.2.7"]
    assert result.detail["unreachable"] == {"dead-1": "connection refused", "dead-2": "connection refused"}


async def test_once_never_starts_on_a_second_host_after_a_failure(runner: Runner, remote_dir: Path) -> None:
    result = await runner.run(step(f"touch {remote_dir}/once-{LOCAL_ADDR}; exit 3", run="once"))
    assert result.state == "failed"
    assert [(h.host, h.state, h.exit_status) for h in result.hosts] == [("h01", "failed", 3)]
    assert len(list(remote_dir.iterdir())) == 1


async def test_once_with_no_reachable_host_fails_clearly(sshd: SshdCluster) -> None:
    profile = make_profile(sshd, {"gone": ("dead-1", "dead-2")})
    pool = SshPool(profile)
    try:
        result = await Runner(profile, pool).run(step("true", hosts="gone", run="once"))
    finally:
        await pool.close()
    assert result.state == "failed"
    assert result.reason is not None and "dead-1: connection refused" in result.reason
    assert {h.state for h in result.hosts} == {"unreachable"}


async def test_serial_stops_at_first_failure(sshd: SshdCluster, remote_dir: Path) -> None:
    profile = make_profile(sshd, {"four": ("h01", "h02", "h03", "h04")})
    pool = SshPool(profile)
    runner = Runner(profile, pool)
    cmd = f'touch {remote_dir}/ran-{LOCAL_ADDR}; [ "{LOCAL_ADDR}" != 127.0.2.2 ]'
    try:
        result = await runner.run(step(cmd, hosts="four", run="serial"))
        assert [(h.host, h.state) for h in result.hosts] == [
            ("h01", "ok"), ("h02", "failed"), ("h03", "skipped"), ("h04", "skipped")
        ]
        assert result.state == "partial"
        assert sorted(p.name for p in remote_dir.iterdir()) == ["ran-127.0.2.1", "ran-127.0.2.2"]
        assert result.hosts[2].error == "not run: h02 failed first"

        result = await runner.run(step(cmd, hosts="four", run="serial", continue_on_error=True))
        assert [h.state for h in result.hosts] == ["ok", "failed", "ok", "ok"]
    finally:
        await pool.close()


async def test_parallel_concurrency_limit_is_respected(runner: Runner, pool: SshPool) -> None:
    assert not any((await pool.connect_all()).values())  # measure the commands, not the connects
    running: set[str] = set()
    peak = 0

    def track(line: OutputLine) -> None:
        nonlocal peak
        if line.text == "start":
            running.add(line.host)
            peak = max(peak, len(running))
        elif line.text == "end":
            running.discard(line.host)

    t0 = time.monotonic()
    result = await runner.run(step("echo start; sleep 0.3; echo end", concurrency=3), on_output=track)
    assert result.state == "ok" and len(result.hosts) == 20
    assert peak == 3
    assert time.monotonic() - t0 >= 0.3 * 20 / 3  # 7 waves


@PTY_BOTH
async def test_timeout_stops_the_hung_command_and_others_succeed(runner: Runner, remote_dir: Path, pty: bool) -> None:
    cmd = f'if [ "{LOCAL_ADDR}" = 127.0.2.2 ]; then echo $$ > {remote_dir}/pid-hung; exec sleep 30; fi; echo fine'
    result = await runner.run(step(cmd, timeout=1.0, pty=pty), hosts=["h01", "h02", "h03"])
    states = {h.host: h.state for h in result.hosts}
    assert states == {"h01": "ok", "h02": "timeout", "h03": "ok"}
    assert result.state == "partial"
    hung = next(h for h in result.hosts if h.host == "h02")
    assert hung.error == "timed out after 1s; remote command stopped"
    assert 1.0 <= hung.duration < 10
    pid = pids_in(remote_dir)["pid-hung"]
    try:
        poll(lambda: not alive(pid), 5, f"remote sleep {pid} to die")
    finally:
        kill_quietly(pid)


@PTY_BOTH
async def test_cancel_stops_every_host_and_reports_what_each_did(runner: Runner, remote_dir: Path, pty: bool) -> None:
    cmd = (f'if [ "{LOCAL_ADDR}" = 127.0.2.1 ]; then echo quick; exit 0; fi; '
           f"echo $$ > {remote_dir}/pid-{LOCAL_ADDR}; exec sleep 30")
    done: list[HostResult] = []
    task = asyncio.create_task(runner.run(step(cmd, pty=pty), hosts=["h01", "h02", "h03"], on_host_done=done.append))
    deadline = time.monotonic() + 5
    while len(pids_in(remote_dir)) < 2 or not done:
        assert time.monotonic() < deadline, "remote commands did not start"
        await asyncio.sleep(0.02)
    pids = pids_in(remote_dir)
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await task
    try:
        assert isinstance(caught.value, StepCancelled)
        result = caught.value.result
        assert result.state == "cancelled"
        assert {h.host: h.state for h in result.hosts} == {"h01": "ok", "h02": "cancelled", "h03": "cancelled"}
        assert sorted((h.host, h.state) for h in done) == [("h01", "ok"), ("h02", "cancelled"), ("h03", "cancelled")]
        for pid in pids.values():
            poll(lambda pid=pid: not alive(pid), 5, f"remote sleep {pid} to die")
    finally:
        for pid in pids.values():
            kill_quietly(pid)


@PTY_BOTH
async def test_verify_decides_the_step(runner: Runner, pty: bool) -> None:
    ok = await runner.run(step("true", pty=pty,
                               verify=VerifySpec("echo paused; exit 1", exit_status=1, output="^paused$")),
                          hosts=["h01", "h02"])
    assert ok.state == "ok"
    assert all(h.verify_ok and h.verify_exit_status == 1 for h in ok.hosts)

    bad_status = await runner.run(step("true", verify=VerifySpec("exit 2")), hosts=["h01"])
    assert bad_status.state == "failed"
    host = bad_status.hosts[0]
    assert (host.exit_status, host.verify_ok, host.verify_exit_status) == (0, False, 2)
    assert host.error == "verify failed: exit status 2, expected 0"

    bad_output = await runner.run(step("true", verify=VerifySpec("echo running", output="paused")), hosts=["h01"])
    assert bad_output.state == "failed"
    assert bad_output.hosts[0].error == "verify failed: output does not match /paused/"

    # verify only runs where the step itself succeeded
    lines: list[OutputLine] = []
    failed = await runner.run(step("exit 4", verify=VerifySpec("echo verified")), hosts=["h01"],
                              on_output=lines.append)
    assert failed.hosts[0].verify_ok is None and not [ln for ln in lines if ln.stream == "verify"]


async def test_no_full_garbage_collection_while_a_step_runs_and_the_collector_is_back_after(runner: Runner) -> None:
    """A full collection walks every open connection in one pause (cockpit/collector.py): none while
    a step runs; the interpreter's thresholds are back once it ends, finished or cancelled."""
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    result = await runner.run(step("echo one"), hosts=["h01", "h02"],
                              on_output=lambda line: during.append(gc.get_threshold()))
    assert result.state == "ok" and len(during) == 2
    assert {t[2] for t in during} == {NEVER} and gc.get_threshold() == before

    started = asyncio.Event()
    task = asyncio.create_task(runner.run(step("echo started; exec sleep 30"), hosts=["h01"],
                                          on_output=lambda line: started.set()))
    await asyncio.wait_for(started.wait(), 10)
    assert gc.get_threshold()[2] == NEVER
    task.cancel()
    with pytest.raises(StepCancelled):
        await task
    assert gc.get_threshold() == before


async def test_output_streamed_line_by_line_and_tail_bounded(runner: Runner) -> None:
    lines: list[OutputLine] = []
    cmd = "for i in $(seq 1 120); do echo line-$i; done; echo to-stderr >&2"
    result = await runner.run(step(cmd, id="loud"), hosts=["h01", "h02"], on_output=lines.append)
    assert result.state == "ok"
    for host in ("h01", "h02"):
        mine = [ln for ln in lines if ln.host == host]
        assert [ln.text for ln in mine] == [f"line-{i}" for i in range(1, 121)] + ["to-stderr"]
        assert all(ln.step_id == "loud" and ln.stream == "stdout" for ln in mine)
        assert mine == sorted(mine, key=lambda ln: ln.ts)
    tail = result.hosts[0].tail
    assert len(tail) == 50 and tail[0] == "line-72" and tail[-1] == "to-stderr"


async def test_vars_are_expanded_and_bad_steps_fail_clearly(sshd: SshdCluster) -> None:
    profile = make_profile(sshd, vars_={"greeting": "hello", "who": "{greeting} world"})
    pool = SshPool(profile)
    runner = Runner(profile, pool)
    try:
        lines: list[OutputLine] = []
        result = await runner.run(step("echo {who} {{literal}}"), hosts=["h01"], on_output=lines.append)
        assert [ln.text for ln in lines] == ["hello world {literal}"]
        assert result.command == "echo hello world {literal}"

        undefined = await runner.run(step("echo {nope}"), hosts=["h01"])
        assert (undefined.state, undefined.reason) == ("failed", "step s1 uses undefined var {nope}")
        no_hosts = await runner.run(step("true", hosts="missing"))
        assert no_hosts.state == "failed" and "no hosts" in (no_hosts.reason or "")
        bad_regex = await runner.run(step("true", verify=VerifySpec("true", output="(")), hosts=["h01"])
        assert bad_regex.state == "failed" and "bad verify output regex" in (bad_regex.reason or "")
        not_ssh = await runner.run(step("true", kind="local"), hosts=["h01"])
        assert not_ssh.state == "failed" and "not ssh" in (not_ssh.reason or "")
    finally:
        await pool.close()


async def test_preview_is_host_prefixed(sshd: SshdCluster) -> None:
    profile = make_profile(sshd, {"console": ("dead-1", "h05", "h06")})
    pool = SshPool(profile)
    runner = Runner(profile, pool)
    try:
        text = await runner.preview(step("true", hosts="console", run="once", preview="echo Would run; echo line 2"))
        assert text.splitlines() == ["dead-1: unreachable: connection refused", "h05: Would run", "h05: line 2"]
        text = await runner.preview(step("true", hosts="console", preview=f"echo {LOCAL_ADDR}; exit 1"))
        assert text.splitlines() == [
            "dead-1: unreachable: connection refused",
            "h05: 127.0.2.5", "h05: (exit status 1)", "h06: 127.0.2.6", "h06: (exit status 1)",
        ]
        with pytest.raises(RunnerError, match="has no preview"):
            await runner.preview(step("true", hosts="console"))
    finally:
        await pool.close()


async def test_sample_returns_output_or_raises_clearly(runner: Runner, remote_dir: Path) -> None:
    assert await runner.sample("h01", "echo 42; echo 'feed 7'", 2) == "42\nfeed 7"
    with pytest.raises(RemoteCommandError, match=r"^h01: `echo nope; exit 2` exited with status 2: nope$"):
        await runner.sample("h01", "echo nope; exit 2", 2)
    cmd = f"echo $$ > {remote_dir}/pid-sample; exec sleep 30"
    with pytest.raises(RemoteCommandError, match="timed out after"):
        await runner.sample("h01", cmd, 0.5)
    pid = pids_in(remote_dir)["pid-sample"]
    try:
        poll(lambda: not alive(pid), 5, "sampled command to die")
    finally:
        kill_quietly(pid)
    with pytest.raises(SshError, match=r"^dead-1: connection refused$"):
        await runner.sample("dead-1", "true", 2)


async def test_many_steps_at_once_stay_within_max_sessions(runner: Runner) -> None:
    """More concurrent commands than sshd's MaxSessions on one host: queued, none refused."""
    results = await asyncio.gather(*(runner.run(step("sleep 0.1; echo ok"), hosts=["h09"]) for _ in range(25)))
    assert all(r.state == "ok" for r in results), [r.reason for r in results if not r.ok]


def test_hosts_constant_matches_cluster(sshd: SshdCluster) -> None:
    assert len(sshd.servers) == 2 and len(HOSTS) == 20


async def test_without_a_pty_a_stop_that_cannot_find_the_command_says_it_may_still_run(
        runner: Runner, remote_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login shell that cannot run the pid line (not POSIX) leaves the stop without a process group: the
    result must not claim the command was stopped."""
    from cockpit.ssh import command

    monkeypatch.setattr(command, "plain_command", lambda cmd, tag: cmd)   # the pid line never runs
    monkeypatch.setattr(command, "PGID_WAIT", 0.5)
    result = await runner.run(step(f"echo $$ > {remote_dir}/pid-hung; exec sleep 30", timeout=1.0, pty=False),
                              hosts=["h04"])
    pid = pids_in(remote_dir)["pid-hung"]
    try:
        host = result.hosts[0]
        assert host.state == "timeout"
        assert host.error == ("timed out after 1s; its process id never came (is the login shell POSIX?): "
                              "the remote command may still be running")
        assert alive(pid)                      # true: nothing could stop it
    finally:
        kill_quietly(pid)


async def test_without_a_pty_steps_stopped_at_once_on_a_host_at_sshd_default_max_sessions_are_all_killed(
        tmp_path: Path) -> None:
    """sshd's default MaxSessions 10: nine commands hold nine sessions (the pool's cap), and when all nine
    time out together their nine kill sessions share the tenth, asking again when refused."""
    server = TestSshd(tmp_path / "sshd", {"one": "127.0.9.8"}, max_sessions=10).start()
    profile = make_profile(server, groups={"all": ("one",)})
    pool = SshPool(profile)
    try:
        runner = Runner(profile, pool)
        results = await asyncio.gather(*(
            runner.run(step(f"echo $$ > {tmp_path}/pid-{i}; exec sleep 60", id=f"s{i}", timeout=1.0, pty=False),
                       hosts=["one"])
            for i in range(MAX_SESSIONS)))
        pids = pids_in(tmp_path)
        assert len(pids) == MAX_SESSIONS == 9
        for result in results:
            host = result.hosts[0]
            assert (host.state, host.error) == ("timeout", "timed out after 1s; remote command stopped"), host
        for name, pid in pids.items():
            poll(lambda pid=pid: not alive(pid), 5, f"remote {name} {pid} to die")
    finally:
        for pid in pids_in(tmp_path).values():
            kill_quietly(pid)
        await pool.close()
        server.stop()


async def test_without_a_pty_a_cancelled_step_ends_once_every_host_is_stopped_and_reports_each_once(
        runner: Runner, remote_dir: Path) -> None:
    """h03's command ignores TERM, so its stop takes KILL_GRACE and a KILL; h02's dies at TERM. The
    cancelled step must not end (nor report a host) before h03's stop has: once, and the process dead."""
    cmd = (f'echo $$ > {remote_dir}/pid-{LOCAL_ADDR}; if [ "{LOCAL_ADDR}" = 127.0.2.3 ]; then trap "" TERM; fi; '
           "echo started; exec sleep 30")
    done: list[HostResult] = []
    started: set[str] = set()
    task = asyncio.create_task(runner.run(step(cmd, pty=False), hosts=["h02", "h03"], on_host_done=done.append,
                                          on_output=lambda line: started.add(line.host)))
    await until(lambda: started == {"h02", "h03"}, 10, "both commands to start")
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await task
    pids = pids_in(remote_dir)
    try:
        assert isinstance(caught.value, StepCancelled)
        assert sorted(h.host for h in done) == ["h02", "h03"], done
        assert {h.host: h.error for h in caught.value.result.hosts} == {
            "h02": "cancelled; remote command stopped", "h03": "cancelled; remote command stopped"}
        assert not any(alive(pid) for pid in pids.values()), pids   # dead already: no polling
    finally:
        for pid in pids.values():
            kill_quietly(pid)
