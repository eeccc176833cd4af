"""Connect options resolved once, not per connect: a host whose ssh config slice only says where and as
whom to connect (Host, HostName, Port, User, IdentityFile) is connected to without asyncssh parsing a
config file or loading its keys again (about 3.5 ms of CPU per host before, 0.3 ms after: see
docs/fleet.md). Anything else in the slice goes to asyncssh as a file, as before."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from cockpit.profile.model import Profile, SshSettings
from cockpit.ssh.pool import SshPool
from cockpit.ssh.settings import ConnectSettings, load_settings
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import DEAD, HOSTS


def _options(settings: ConnectSettings, host: str) -> asyncssh.SSHClientConnectionOptions:
    with settings.kwargs(host) as kw:
        address = kw.pop("host", None) or settings.address(host)
        return asyncssh.SSHClientConnectionOptions(host=address, **kw)


def _what(o: asyncssh.SSHClientConnectionOptions) -> tuple[Any, ...]:
    keys = tuple(k.public_data for k in o.client_keys or ())
    return o.host, o.port, o.username, keys, o.keepalive_interval, o.connect_timeout


def test_simple_slices_give_the_options_the_config_file_gives(profile: Profile) -> None:
    settings = load_settings(profile.ssh, profile.host_vars)
    slow = replace(settings, fast=False)
    for host in [*HOSTS, *DEAD]:
        with settings.kwargs(host) as kw:
            assert kw["config"] is None, host     # resolved here
        with slow.kwargs(host) as kw:
            assert kw["config"], host              # a file for asyncssh
        assert _what(_options(settings, host)) == _what(_options(slow, host)), host


def test_anything_else_in_the_slice_goes_to_asyncssh_as_a_file(tmp_path: Path, sshd: SshdCluster) -> None:
    cfg = tmp_path / "config"
    cfg.write_text(
        f"Host tokens\n  HostName %h.example\n"
        f"Host extra\n  HostName 127.0.2.1\n  Compression yes\n"
        f"Host quoted\n  IdentityFile \"{sshd.client_key}\"\n"
        f"Host relative\n  IdentityFile id_nope\n"
        f"Host ok\n  HostName 127.0.2.1\n  Port {sshd.port}\n  IdentityFile {sshd.client_key}\n")
    settings = load_settings(SshSettings(config=str(cfg), known_hosts=str(sshd.known_hosts)))
    for host in ("tokens", "extra", "quoted", "relative"):
        with settings.kwargs(host) as kw:
            assert kw["config"] and "host" not in kw, host   # the host's slice, as a file
    with settings.kwargs("ok") as kw:
        assert kw["config"] is None and kw["host"] == "127.0.2.1" and kw["port"] == sshd.port


async def test_a_fleet_connects_without_a_config_parse_per_connect(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[str] = []
    real = asyncssh.config.SSHClientConfig.load.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > 1 and args[1]:   # a file to parse (None: no config at all)
            parses.append(str(args[1]))
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(asyncssh.config.SSHClientConfig, "load", classmethod(counting))
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all(list(HOSTS))
        assert all(e is None for e in errors.values()), errors
        conn = await pool.connection("h07")
        result = await conn.run("echo $SSH_CONNECTION | cut -d' ' -f3", check=True)
        assert str(result.stdout).strip() == HOSTS["h07"]
    finally:
        await pool.close()
    # the settings parse the file once to check it; no connect parses it again
    assert len(parses) <= 1, parses


async def test_without_any_config_file_the_fleet_connects_the_same(
    sshd: SshdCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``[ssh] config`` and no ``~/.ssh/config``: the default keys (here ``~/.ssh/id_ed25519``) are
    loaded once for the fleet, and every host is connected to by its address and the profile's port."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for suffix in ("", ".pub"):
        (home / ".ssh" / f"id_ed25519{suffix}").write_bytes(Path(f"{sshd.client_key}{suffix}").read_bytes())
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    ssh = SshSettings(known_hosts=str(sshd.known_hosts), port=sshd.port, user=sshd.user, connect_timeout=5.0)
    settings = load_settings(ssh)
    assert settings.config == () and settings.slicer is None
    with settings.kwargs("127.0.2.3") as kw:
        assert kw["config"] is None and kw["port"] == sshd.port and len(kw["client_keys"]) == 1
    assert _what(_options(settings, "127.0.2.3")) == _what(_options(replace(settings, fast=False), "127.0.2.3"))
    from types import MappingProxyType

    from cockpit.profile.model import CockpitSettings

    profile = Profile(path=str(tmp_path / "p.toml"), cockpit=CockpitSettings(name="nocfg", environment="test"),
                      ssh=ssh, hosts=MappingProxyType({"all": ("127.0.2.3", "127.0.2.4")}),
                      vars=MappingProxyType({}), sources=MappingProxyType({}), signals=(), checks=(), steps=())
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all()
        assert errors == {"127.0.2.3": None, "127.0.2.4": None}
    finally:
        await pool.close()
