"""The demo hosts over real SSH: known_hosts verification, per-host state, exit codes, hang-ups."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from cockpit.demo.stack import DemoStack
from tests.demo.conftest import ARTISAN, connect, poll_until


async def status(conn: asyncssh.SSHClientConnection) -> tuple[int | None, str]:
    r = await conn.run(f"{ARTISAN} horizon:status")
    return r.exit_status, str(r.stdout).strip()


async def test_horizon_pause_and_continue_per_host(stack: DemoStack) -> None:
    w1, w2, web = await asyncio.gather(*(connect(stack, h) for h in ("worker-1", "worker-2", "web-1")))
    try:
        assert await status(w1) == (0, "Horizon is running.")
        r = await w1.run(f"{ARTISAN} horizon:pause")
        assert r.exit_status == 0 and str(r.stdout).startswith("Sending USR2 Signal To Process: ")
        assert stack.sim.hosts["worker-1"].horizon == "paused"
        assert stack.sim.hosts["worker-2"].horizon == "running", "pause only acts on its own host"
        # horizon:status reads every master from the shared Redis, like Horizon's StatusCommand
        assert await status(w1) == (1, "Horizon is paused.")
        assert await status(w2) == (1, "Horizon is paused.")
        assert (await w2.run(f"{ARTISAN} horizon:pause")).exit_status == 0
        assert (await w1.run(f"{ARTISAN} horizon:continue")).exit_status == 0
        assert await status(w1) == (1, "Horizon is paused.")  # worker-2 still paused
        r = await w2.run(f"{ARTISAN} horizon:continue")
        assert str(r.stdout).startswith("Sending CONT Signal To Process: ")
        assert await status(w2) == (0, "Horizon is running.")
        # a web host runs no Horizon master: pausing there pauses nothing
        r = await web.run(f"{ARTISAN} horizon:pause")
        assert (r.exit_status, r.stdout) == (0, "")
        assert await status(web) == (0, "Horizon is running.")
        r = await web.run("launch-the-rockets")
        assert r.exit_status == 127 and "command not found" in str(r.stderr)
    finally:
        for c in (w1, w2, web):
            c.close()


async def test_each_host_is_verified_with_its_own_key(stack: DemoStack, tmp_path: Path) -> None:
    known = Path(stack.profile.ssh.known_hosts).read_text().splitlines()
    # worker-1's entry carrying web-1's key: a wrong host key
    web1_key = known[0].split(" ", 1)[1]
    wrong = [line if "127.0.0.13" not in line else f"{line.split()[0]} {web1_key}" for line in known]
    path = tmp_path / "known_hosts_wrong"
    path.write_text("\n".join(wrong) + "\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(stack, "worker-1", known_hosts=str(path))
    missing = tmp_path / "known_hosts_missing"
    missing.write_text("\n".join(line for line in known if "127.0.0.13" not in line) + "\n")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(stack, "worker-1", known_hosts=str(missing))
    conn = await connect(stack, "worker-2", known_hosts=str(missing))  # the others still verify
    conn.close()


async def test_a_stranger_key_is_refused(stack: DemoStack) -> None:
    p = stack.profile
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            "web-1",
            config=[p.ssh.config],
            known_hosts=p.ssh.known_hosts,
            client_keys=[stranger],
            username="deploy",
            connect_timeout=5,
        )


async def test_pty_session_like_the_runner(stack: DemoStack) -> None:
    """With a pty (the runner's way) stderr is merged, lines end in CRLF, a question reads ^D."""
    conn = await connect(stack, "console")
    try:
        proc = await conn.create_process(
            f"{ARTISAN} migrate:rollback --path=database/migrations/contract --pretend",
            term_type="dumb",
            term_modes={asyncssh.PTY_ECHO: 0},
        )
        proc.stdin.write("\x04")
        out, _ = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.exit_status == 1
        assert "*     Application In Production!     *\r\n" in out
        assert "Do you really wish to run this command? (yes/no) [no]:" in out
        assert "Aborted." in out
        assert stack.sim.contract_applied
        r = await conn.run("nope", term_type="dumb")
        assert r.exit_status == 127 and r.stdout == "bash: line 1: nope: command not found\r\n"
    finally:
        conn.close()


async def test_hanging_up_stops_the_command(stack: DemoStack) -> None:
    """Closing the channel mid-command stops it there: its later effects never happen."""
    conn = await connect(stack, "console")
    try:
        stack.sim.app_cache(warm=False)
        proc = await conn.create_process(f"{ARTISAN} communities:cache --all", term_type="dumb")
        first = await asyncio.wait_for(proc.stdout.readline(), 5)
        assert first.startswith("Caching 1,284 communities")
        proc.close()
        await proc.wait_closed()

        async def no_more_tasks() -> bool:
            return not stack.sshd._tasks  # type: ignore[union-attr]

        assert await poll_until(no_more_tasks, 5)
        await asyncio.sleep(0.3)  # longer than the rest of the command at speed 50
        assert stack.sim.cache_warm is False
        r = await conn.run(f"{ARTISAN} communities:cache --all")  # the connection is still good
        assert r.exit_status == 0 and stack.sim.cache_warm is True
    finally:
        conn.close()
