"""The fan-out methods the benchmark compares: cockpit, bare asyncssh, and the usual peers.

Every method runs the same command on the same hosts (a :class:`Fleet`) and returns
how many hosts answered ``ok``. Host keys are verified against the fleet's known_hosts
by every method that can (parallel-ssh's Python client has no known_hosts check).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import asyncssh

from cockpit.profile.model import CockpitSettings, Profile, SshSettings, StepSpec
from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


@dataclass
class Fleet:
    hosts: dict[str, str]  # name -> 127.x address
    port: int
    user: str
    ssh_config: Path
    known_hosts: Path
    client_key: Path
    workdir: Path

    @property
    def names(self) -> list[str]:
        return list(self.hosts)

    def ssh_opts(self) -> list[str]:
        return ["-F", str(self.ssh_config), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ControlMaster=no"]

    def profile(self) -> Profile:
        return Profile(
            path=str(self.workdir / "bench.toml"),
            cockpit=CockpitSettings(name="bench", environment="bench"),
            ssh=SshSettings(config=str(self.ssh_config), known_hosts=str(self.known_hosts),
                            connect_timeout=30.0),
            hosts=MappingProxyType({"all": tuple(self.hosts)}),
            vars=MappingProxyType({}),
            sources=MappingProxyType({}),
            signals=(),
            checks=(),
            steps=(),
        )


def bench_step(command: str, pty: bool = True) -> StepSpec:
    return StepSpec(id="fanout", title="fan-out", phase="prepare", hosts="all", command=command, timeout=60, pty=pty)


# -- in-process (asyncio) ---------------------------------------------------------------------


async def cockpit_fresh(fleet: Fleet, command: str) -> int:
    """The headless case: open every connection, run the step, close."""
    profile = fleet.profile()
    pool = SshPool(profile)
    try:
        await pool.connect_all()
        result = await Runner(profile, pool).run(bench_step(command))
    finally:
        await pool.close()
    return sum(h.state == "ok" for h in result.hosts)


async def cockpit_open(runner: Runner, command: str, pty: bool = True) -> int:
    """The TUI case: connections opened at start, a step fired later (``pty``: the step's ``pty``)."""
    result = await runner.run(bench_step(command, pty))
    return sum(h.state == "ok" for h in result.hosts)


async def asyncssh_floor(fleet: Fleet, command: str) -> int:
    """The floor: the shortest asyncssh code doing the same (connect, run, close per host)."""

    async def one(host: str) -> bool:
        try:
            async with asyncssh.connect(host, config=[str(fleet.ssh_config)],
                                        known_hosts=str(fleet.known_hosts)) as conn:
                result = await conn.run(command)
                return result.exit_status == 0 and (result.stdout or "").strip() == "ok"
        except (OSError, asyncssh.Error):
            return False

    return sum(await asyncio.gather(*(one(h) for h in fleet.names)))


async def asyncssh_no_config(fleet: Fleet, command: str) -> int:
    """Transport floor: asyncssh by address and port, keys and known_hosts loaded once, no config file."""
    keys = asyncssh.load_keypairs([str(fleet.client_key)])
    known = asyncssh.read_known_hosts(str(fleet.known_hosts))

    async def one(addr: str) -> bool:
        try:
            async with asyncssh.connect(addr, port=fleet.port, username=fleet.user, client_keys=keys,
                                        known_hosts=known, config=None) as conn:
                result = await conn.run(command)
                return result.exit_status == 0 and (result.stdout or "").strip() == "ok"
        except (OSError, asyncssh.Error):
            return False

    return sum(await asyncio.gather(*(one(a) for a in fleet.hosts.values())))


# -- subprocess peers -------------------------------------------------------------------------


def ssh_loop(fleet: Fleet, command: str) -> int:
    """OpenSSH ``ssh`` host after host."""
    ok = 0
    for host in fleet.names:
        out = subprocess.run(["ssh", *fleet.ssh_opts(), host, command], capture_output=True, text=True,
                             check=False, timeout=60)
        ok += out.returncode == 0 and out.stdout.strip() == "ok"
    return ok


def xargs_ssh(fleet: Fleet, command: str) -> int:
    """``xargs -P N ssh``."""
    out = subprocess.run(
        ["xargs", "-P", str(len(fleet.names)), "-I{}", "ssh", *fleet.ssh_opts(), "{}", command],
        input="\n".join(fleet.names) + "\n", capture_output=True, text=True, check=False, timeout=300,
    )
    return out.stdout.split().count("ok")


def pssh_command(fleet: Fleet, command: str) -> int:
    """Debian's ``parallel-ssh`` (pssh: OpenSSH processes, ``-p N``)."""
    hosts_file = fleet.workdir / "pssh_hosts"
    hosts_file.write_text("\n".join(fleet.names) + "\n")
    args = ["parallel-ssh", "-h", str(hosts_file), "-p", str(len(fleet.names)), "-t", "60",
            "-x", " ".join(fleet.ssh_opts()), command]
    out = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)
    return out.stdout.count("[SUCCESS]")


def parallel_ssh_lib(fleet: Fleet, command: str) -> int:
    """parallel-ssh (the Python library, libssh2 based): ``ParallelSSHClient``."""
    from pssh.clients import ParallelSSHClient

    client = ParallelSSHClient(list(fleet.hosts.values()), port=fleet.port, user=fleet.user,
                               pkey=str(fleet.client_key), pool_size=len(fleet.hosts), num_retries=1)
    try:
        output = client.run_command(command, stop_on_errors=False)
        client.join(output, consume_output=False)
        ok = 0
        for host_out in output:
            if host_out.exception is None and list(host_out.stdout or []) == ["ok"]:
                ok += host_out.exit_code == 0
        return ok
    finally:
        client.disconnect() if hasattr(client, "disconnect") else None


def ansible_adhoc(fleet: Fleet, command: str) -> int:
    """``ansible all -m shell -a CMD -f N`` (pipelining on, no ControlPersist: cold connections)."""
    home = fleet.workdir / "ansible"
    home.mkdir(exist_ok=True)
    inventory = home / "inventory.ini"
    opts = " ".join(fleet.ssh_opts())
    inventory.write_text(
        "[all]\n"
        + "".join(f"{n} ansible_host={a} ansible_port={fleet.port}\n" for n, a in fleet.hosts.items())
        + "[all:vars]\n"
        f"ansible_user={fleet.user}\nansible_ssh_private_key_file={fleet.client_key}\n"
        f"ansible_python_interpreter=/usr/bin/python3\n"
        f"ansible_ssh_common_args='{opts}'\n"
    )
    env = {**os.environ, "ANSIBLE_HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
           "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_SSH_ARGS": "-o ControlMaster=no", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_DEPRECATION_WARNINGS": "False"}
    ansible = shutil.which("ansible", path=str(VENV_BIN)) or "ansible"
    out = subprocess.run([ansible, "all", "-i", str(inventory), "-m", "shell", "-a", command,
                          "-f", str(len(fleet.hosts))],
                         capture_output=True, text=True, check=False, timeout=600, env=env)
    return out.stdout.count("| CHANGED | rc=0")
