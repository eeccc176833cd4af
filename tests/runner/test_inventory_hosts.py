"""Hosts from an Ansible inventory are reached at their ``ansible_host``/``ansible_port``/``ansible_user``."""

from __future__ import annotations

from pathlib import Path

from cockpit.profile.load import load_profile
from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import LOCAL_ADDR, step


async def test_inventory_hosts_connect_at_their_ansible_host_port_and_user(sshd: SshdCluster, tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(
        "[web]\n"
        f"app-1 ansible_host=127.0.2.3 ansible_port={sshd.port}\n"
        f"app-2 ansible_host=127.0.2.4 ansible_port={sshd.port}\n"
        "[stray]\n"
        f"app-3 ansible_host=127.0.2.5 ansible_port={sshd.port} ansible_user=nobody-here\n"
        f"[all:vars]\nansible_user={sshd.user}\n"
    )
    (tmp_path / "empty_ssh_config").write_text("")
    (tmp_path / "p.toml").write_text(
        '[cockpit]\nname = "inv"\nenvironment = "test"\n\n'
        f'[ssh]\nconfig = "{tmp_path}/empty_ssh_config"\nknown_hosts = "{sshd.known_hosts}"\n'
        f'client_keys = ["{sshd.client_key}"]\nport = 1\nuser = "wrong"\n\n'
        '[inventory]\nansible = ["hosts.ini"]\n'
    )
    profile = load_profile(tmp_path / "p.toml")
    pool = SshPool(profile)
    try:
        seen: dict[str, str] = {}
        result = await Runner(profile, pool).run(
            step(f"echo {LOCAL_ADDR} $USER", hosts="web"),
            on_output=lambda line: seen.__setitem__(line.host, line.text),
        )
        assert result.state == "ok", result.reason
        assert seen == {"app-1": f"127.0.2.3 {sshd.user}", "app-2": f"127.0.2.4 {sshd.user}"}
        errors = await pool.connect_all(["app-3"])
        assert errors["app-3"] is not None and "authentication failed" in errors["app-3"], errors
    finally:
        await pool.close()
