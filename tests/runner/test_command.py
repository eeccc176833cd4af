"""``run_command`` on a real sshd: what one command on one open connection gives back, and how it ends.

The runner's own tests cover timeouts and cancelling; these cover the rest of the contract:
a question answered with end of file, whole clean lines (split multi-byte characters too),
exit statuses and signals, a listener that fails, and a connection that drops. Each holds
with a pty and without one (``pty = false``), whose stop kills the remote process group
from a second session: the test sshd's logins are root's, which sshd refuses signals.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncssh
import pytest

from cockpit.ssh.command import CommandLost, run_command
from cockpit.ssh.pool import SshPool
from tests.runner.helpers import PTY_BOTH, alive, kill_quietly, pids_in, poll
from tests.support.sshd import TestSshd


async def _run(pool: SshPool, command: str, timeout: float = 20.0, pty: bool = True) -> tuple[int, list[str]]:
    lines: list[str] = []
    conn = await pool.connection("h01")
    return await run_command(conn, command, timeout=timeout, on_line=lines.append, pty=pty), lines


@PTY_BOTH
async def test_a_command_that_asks_a_question_reads_end_of_file_at_once(pool: SshPool, pty: bool) -> None:
    t0 = time.monotonic()
    status, lines = await _run(pool, 'read -r answer; s=$?; echo "read $s [$answer]"', timeout=15, pty=pty)
    assert (status, lines) == (0, ["read 1 []"])
    assert time.monotonic() - t0 < 10          # not its timeout


@PTY_BOTH
async def test_lines_arrive_whole_without_their_line_ends(pool: SshPool, pty: bool) -> None:
    # 3,000 lines of 2-byte characters: packets split some of them in the middle of a character
    status, lines = await _run(pool, "printf 'a\\r\\nb\\n'; for i in $(seq 3000); do echo éééé; done; printf 'last'",
                               pty=pty)
    assert status == 0
    assert lines[:2] == ["a", "b"] and lines[-1] == "last"
    assert lines[2:-1] == ["éééé"] * 3000


@PTY_BOTH
@pytest.mark.parametrize(("command", "status"), [("true", 0), ("exit 3", 3), ("echo x; exit 255", 255)])
async def test_the_exit_status_is_returned(pool: SshPool, command: str, status: int, pty: bool) -> None:
    assert (await _run(pool, command, pty=pty))[0] == status


@PTY_BOTH
async def test_a_command_killed_by_a_signal_is_lost_with_the_signal(pool: SshPool, pty: bool) -> None:
    with pytest.raises(CommandLost, match="killed by signal KILL"):
        await _run(pool, "echo before; kill -KILL $$", pty=pty)


@PTY_BOTH
async def test_a_failing_listener_stops_the_command_and_its_error_comes_back(pool: SshPool, remote_dir: Path,
                                                                             pty: bool) -> None:
    conn = await pool.connection("h01")

    def listener(text: str) -> None:
        if text == "first":
            raise RuntimeError("the screen went away")

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="the screen went away"):
        await run_command(conn, f"echo $$ > {remote_dir}/pid-cmd; echo first; exec sleep 30",
                          timeout=25, on_line=listener, pty=pty)
    assert time.monotonic() - t0 < 20
    pid = pids_in(remote_dir)["pid-cmd"]
    try:
        poll(lambda: not alive(pid), 5, f"remote sleep {pid} to die")
    finally:
        kill_quietly(pid)
    # the connection is still good for the next command
    assert await run_command(conn, "echo again", timeout=10, on_line=lambda _: None, pty=pty) == 0


@PTY_BOTH
async def test_a_connection_dropped_under_a_command_loses_it_clearly(pool: SshPool, pty: bool) -> None:
    conn = await pool.connection("h02")
    seen = asyncio.Event()

    def listener(text: str) -> None:
        if text == "started":
            seen.set()

    task = asyncio.create_task(run_command(conn, "echo started; sleep 20", timeout=25, on_line=listener, pty=pty))
    await asyncio.wait_for(seen.wait(), 10)
    conn.abort()
    with pytest.raises(CommandLost, match="connection lost while the command ran") as lost:
        await asyncio.wait_for(task, 10)
    # no hang-up without a terminal: the result says the command may live on
    assert ("it may still be running" in str(lost.value)) is (not pty), lost.value


async def test_without_a_pty_stderr_comes_through_apart_and_the_pid_tag_never_shows(pool: SshPool) -> None:
    status, lines = await _run(pool, "echo out; echo err >&2; printf 'no end' >&2", pty=False)
    assert status == 0
    assert sorted(lines) == ["err", "no end", "out"]
    assert not any("cockpit-pgid" in line or "\x1e" in line for line in lines)


@pytest.mark.parametrize("how", ["timeout", "cancel"])
async def test_without_a_pty_a_stop_kills_the_whole_process_group_on_a_root_login(
        pool: SshPool, remote_dir: Path, how: str) -> None:
    """No hang-up without a terminal, and sshd refuses signals to root logins: the group is killed from a
    second session. The command's child ignores TERM, so KILL must follow."""
    conn = await pool.connection("h03")
    seen = asyncio.Event()
    command = (f"echo $$ > {remote_dir}/pid-cmd; (trap '' TERM; exec sleep 300) & echo $! > {remote_dir}/pid-child; "
               "echo started; wait")
    task = asyncio.create_task(run_command(conn, command, timeout=2.0 if how == "timeout" else 60.0,
                                           on_line=lambda text: seen.set() if text == "started" else None, pty=False))
    await asyncio.wait_for(seen.wait(), 10)
    if how == "cancel":
        task.cancel()
    with pytest.raises(TimeoutError if how == "timeout" else asyncio.CancelledError):
        await asyncio.wait_for(task, 20)
    pids = pids_in(remote_dir)
    try:
        for name in ("pid-cmd", "pid-child"):
            poll(lambda pid=pids[name]: not alive(pid), 5, f"remote {name} {pids[name]} to die")
    finally:
        for pid in pids.values():
            kill_quietly(pid)
    assert await run_command(conn, "echo again", timeout=10, on_line=lambda _: None, pty=False) == 0


async def test_without_a_pty_a_stop_refused_its_kill_session_says_the_command_may_still_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kill needs a session of its own; a host at sshd's MaxSessions refuses it (asked again for
    KILL_OPEN_WAIT). The stop must not read as done: the command is indeed still running."""
    from cockpit.ssh import command

    monkeypatch.setattr(command, "KILL_OPEN_WAIT", 0.5)
    server = TestSshd(tmp_path / "sshd", {"one": "127.0.9.7"}, max_sessions=1).start()
    pid_file = tmp_path / "pid-cmd"
    try:
        conn = await asyncssh.connect("127.0.9.7", port=server.port, username=server.user,
                                      client_keys=[str(server.client_key)], known_hosts=str(server.known_hosts),
                                      config=None)
        unstopped: list[str] = []
        with pytest.raises(TimeoutError):
            await run_command(conn, f"echo $$ > {pid_file}; exec sleep 60", timeout=1.0, on_line=lambda _: None,
                              pty=False, on_unstopped=unstopped.append)
        conn.close()
        assert len(unstopped) == 1, unstopped
        assert "could not open a session to kill it" in unstopped[0], unstopped
        assert unstopped[0].endswith("the remote command may still be running"), unstopped
        assert alive(int(pid_file.read_text())), "the result says it may run: it does"
    finally:
        if pid_file.exists():
            kill_quietly(int(pid_file.read_text()))
        server.stop()
