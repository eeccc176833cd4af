"""Twenty hosts behind one bastion: ONE jump connection carries all of them (counted on the jump sshd)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import HOSTS, LOCAL_ADDR, make_profile, step
from tests.support.sshd import running_sshd


async def test_every_host_behind_a_bastion_shares_one_jump_connection(sshd: SshdCluster, tmp_path: Path) -> None:
    with running_sshd(tmp_path / "bastion", {"bastion": "127.0.7.1"}) as jump:
        behind = {f"{h}-via": addr for h, addr in HOSTS.items()}
        config = tmp_path / "ssh_config"
        config.write_text(jump.ssh_config.read_text() + "".join(
            f"Host {name}\n  HostName {addr}\n  Port {sshd.port}\n  User {sshd.user}\n"
            f"  IdentityFile {sshd.client_key}\n  ProxyJump bastion\n"
            for name, addr in behind.items()
        ))
        known = tmp_path / "known_hosts"
        known.write_text(sshd.known_hosts.read_text() + jump.known_hosts.read_text())
        profile = make_profile(sshd, {"behind": tuple(behind)}, config=str(config), known_hosts=str(known))
        # the readiness probe of the fresh jump sshd may leave its connection process for a moment
        deadline = time.monotonic() + 10
        while jump.session_children() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert jump.session_children() == []
        pool = SshPool(profile)
        try:
            assert await pool.connect_all() == dict.fromkeys(behind)
            # one sshd connection process on the bastion, for 20 hosts
            assert len(jump.session_children()) == 1
            seen: dict[str, str] = {}
            result = await Runner(profile, pool).run(
                step(f"echo {LOCAL_ADDR}", hosts="behind"),
                on_output=lambda line: seen.__setitem__(line.host, line.text))
            assert result.state == "ok", result.reason
            assert seen == behind  # each command ran on its own host, through the bastion
            assert len(jump.session_children()) == 1
            # each host was opened once (no retry opened a second jump connection either)
            assert all(pool.opened(h) == 1 for h in behind)
        finally:
            await pool.close()
