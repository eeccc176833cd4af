"""Profiles and steps for the runner tests, built straight from the model dataclasses."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from cockpit.profile.model import CockpitSettings, Profile, SshSettings, StepSpec
from tests.runner.cluster import SshdCluster
from tests.support.sshd import TestSshd

# every contract of a command holds with a pty and without one (``pty = false``)
PTY_BOTH = pytest.mark.parametrize("pty", [True, False], ids=["pty", "no-pty"])

HOSTS = {f"h{i:02d}": f"127.0.2.{i}" for i in range(1, 21)}
DEAD = {"dead-1": "127.0.3.1", "dead-2": "127.0.3.2"}  # nothing listens there: connection refused
LOCAL_ADDR = "$(echo $SSH_CONNECTION | cut -d' ' -f3)"  # the 127.x address this host plays


def ssh_config_with_dead(sshd: SshdCluster | TestSshd) -> Path:
    """The sshd's client config plus aliases for addresses nobody listens on."""
    path = sshd.workdir / "ssh_config_all"
    extra = "".join(
        f"Host {name}\n  HostName {addr}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.client_key}\n"
        for name, addr in DEAD.items()
    )
    path.write_text(sshd.ssh_config.read_text() + extra)
    return path


def make_profile(
    sshd: SshdCluster | TestSshd,
    groups: Mapping[str, tuple[str, ...]] | None = None,
    vars_: Mapping[str, str] | None = None,
    **ssh: Any,
) -> Profile:
    settings = {
        "config": str(ssh_config_with_dead(sshd)),
        "known_hosts": str(sshd.known_hosts),
        "connect_timeout": 5.0,
        "keepalive": 5.0,
        **ssh,
    }
    return Profile(
        path=str(sshd.workdir / "profile.toml"),
        cockpit=CockpitSettings(name="runner-tests", environment="test"),
        ssh=SshSettings(**settings),
        hosts=MappingProxyType(dict(groups or {"all": tuple(HOSTS)})),
        vars=MappingProxyType(dict(vars_ or {})),
        sources=MappingProxyType({}),
        signals=(),
        checks=(),
        steps=(),
    )


def step(command: str, hosts: str = "all", **kw: Any) -> StepSpec:
    base = StepSpec(id=kw.pop("id", "s1"), title="test step", phase="rollback", hosts=hosts, command=command)
    return replace(base, **kw)


def poll(predicate: Callable[[], bool], deadline_s: float = 5.0, what: str = "condition") -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"{what} not reached within {deadline_s}s")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill -0: look at its state
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):   # gone between the two looks
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids_in(directory: Path, pattern: str = "pid-*") -> dict[str, int]:
    """The pids remote commands wrote into ``directory`` (file name -> pid)."""
    return {p.name: int(p.read_text()) for p in directory.glob(pattern) if p.read_text().strip()}


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
