"""The cipher a connection uses: AES-GCM first (cheap per packet in a Python client), unless the host's
ssh config says ``Ciphers``, which then wins as ssh's would. Read from the negotiated connection."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cockpit.profile.model import Profile
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import HOSTS


async def _ciphers(profile: Profile, hosts: list[str]) -> dict[str, tuple[str, str]]:
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all(hosts)
        assert all(e is None for e in errors.values()), errors
        out = {}
        for host in hosts:
            conn = await pool.connection(host)
            out[host] = (conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher"))
        return out
    finally:
        await pool.close()


async def test_connections_use_aes_gcm_when_the_config_names_no_cipher(profile: Profile) -> None:
    got = await _ciphers(profile, ["h01", "h02"])
    assert got == {h: ("aes128-gcm@openssh.com", "aes128-gcm@openssh.com") for h in ("h01", "h02")}


async def test_a_ciphers_line_in_the_ssh_config_wins(tmp_path: Path, sshd: SshdCluster, profile: Profile) -> None:
    cfg = tmp_path / "config"
    blocks = "".join(
        f"Host {name}\n  HostName {HOSTS[name]}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.client_key}\n" for name in ("h01", "h02", "h03"))
    cfg.write_text(
        "Host h01\n  Ciphers chacha20-poly1305@openssh.com\n"
        "Host h02\n  Ciphers ^aes256-ctr\n"
        f"{blocks}")
    got = await _ciphers(replace(profile, ssh=replace(profile.ssh, config=str(cfg))), ["h01", "h02", "h03"])
    assert got["h01"] == ("chacha20-poly1305@openssh.com",) * 2
    assert got["h02"] == ("aes256-ctr",) * 2               # prepended to asyncssh's own list, as ssh does
    assert got["h03"] == ("aes128-gcm@openssh.com",) * 2   # no Ciphers line for it


async def test_a_ciphers_line_for_every_host_wins_too(tmp_path: Path, sshd: SshdCluster, profile: Profile) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(sshd.ssh_config.read_text() + "Host *\n  Ciphers aes128-ctr\n")
    got = await _ciphers(replace(profile, ssh=replace(profile.ssh, config=str(cfg))), ["h04"])
    assert got == {"h04": ("aes128-ctr", "aes128-ctr")}
