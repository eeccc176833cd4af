"""``run_in_pty`` on a real sshd: what one command on one open connection gives back, and how it ends.

The runner's own tests cover timeouts and cancelling; these cover the rest of the contract:
a question answered with end of file, whole clean lines (split multi-byte characters too),
exit statuses and signals, a listener that fails, and a connection that drops.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cockpit.ssh.command import CommandLost, run_in_pty
from cockpit.ssh.pool import SshPool
from tests.runner.helpers import alive, kill_quietly, pids_in, poll


async def _run(pool: SshPool, command: str, timeout: float = 20.0) -> tuple[int, list[str]]:
    lines: list[str] = []
    conn = await pool.connection("h01")
    return await run_in_pty(conn, command, timeout=timeout, on_line=lines.append), lines


async def test_a_command_that_asks_a_question_reads_end_of_file_at_once(pool: SshPool) -> None:
    t0 = time.monotonic()
    status, lines = await _run(pool, 'read -r answer; s=$?; echo "read $s [$answer]"', timeout=15)
    assert (status, lines) == (0, ["read 1 []"])
    assert time.monotonic() - t0 < 10          # not its timeout


async def test_lines_arrive_whole_without_their_line_ends(pool: SshPool) -> None:
    # 3,000 lines of 2-byte characters: packets split some of them in the middle of a character
    status, lines = await _run(pool, "printf 'a\\r\\nb\\n'; for i in $(seq 3000); do echo éééé; done; printf 'last'")
    assert status == 0
    assert lines[:2] == ["a", "b"] and lines[-1] == "last"
    assert lines[2:-1] == ["éééé"] * 3000


@pytest.mark.parametrize(("command", "status"), [("true", 0), ("exit 3", 3), ("echo x; exit 255", 255)])
async def test_the_exit_status_is_returned(pool: SshPool, command: str, status: int) -> None:
    assert (await _run(pool, command))[0] == status


async def test_a_command_killed_by_a_signal_is_lost_with_the_signal(pool: SshPool) -> None:
    with pytest.raises(CommandLost, match="killed by signal KILL"):
        await _run(pool, "echo before; kill -KILL $$")


async def test_a_failing_listener_stops_the_command_and_its_error_comes_back(pool: SshPool, remote_dir: Path) -> None:
    conn = await pool.connection("h01")

    def listener(text: str) -> None:
        if text == "first":
            raise RuntimeError("the screen went away")

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="the screen went away"):
        await run_in_pty(conn, f"echo $$ > {remote_dir}/pid-cmd; echo first; exec sleep 30",
                         timeout=25, on_line=listener)
    assert time.monotonic() - t0 < 20
    pid = pids_in(remote_dir)["pid-cmd"]
    try:
        poll(lambda: not alive(pid), 5, f"remote sleep {pid} to die")
    finally:
        kill_quietly(pid)
    # the connection is still good for the next command
    assert await run_in_pty(conn, "echo again", timeout=10, on_line=lambda _: None) == 0


async def test_a_connection_dropped_under_a_command_loses_it_clearly(pool: SshPool) -> None:
    conn = await pool.connection("h02")
    seen = asyncio.Event()

    def listener(text: str) -> None:
        if text == "started":
            seen.set()

    task = asyncio.create_task(run_in_pty(conn, "echo started; sleep 20", timeout=25, on_line=listener))
    await asyncio.wait_for(seen.wait(), 10)
    conn.abort()
    with pytest.raises(CommandLost, match="connection lost while the command ran"):
        await asyncio.wait_for(task, 10)
