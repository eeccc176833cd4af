"""Connection discipline at scale, against real sshds with OpenSSH's default ``MaxStartups 10:30:100``.

120 hosts (8 sshds of 16 addresses each). Opened all at once, each sshd sees up to 16
handshakes in flight and drops about a third of those above 10; the pool's handshake cap
keeps the whole fleet at ``[ssh] handshakes`` (default 8) in flight, and a dropped
handshake is retried after a jittered backoff: no host is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster, running_cluster
from tests.runner.helpers import make_profile, step

FLEET = {f"f{i:03d}": f"127.0.5.{i}" for i in range(1, 121)}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with running_cluster(tmp_path_factory.mktemp("fleet"), FLEET, max_startups="10:30:100") as cluster:
        yield cluster


async def test_handshake_cap_holds_against_maxstartups_10_30_100(fleet: SshdCluster) -> None:
    profile = make_profile(fleet, {"all": tuple(FLEET)})
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all()
        lost = {h: e for h, e in errors.items() if e is not None}
        assert not lost, f"{len(lost)} of {len(FLEET)} hosts lost: {list(lost.values())[:5]}"
        assert 1 <= pool.stats.handshakes_max <= 8, pool.stats
        result = await Runner(profile, pool).run(step("echo ok"))
        assert result.state == "ok", result.reason
        assert len(result.hosts) == len(FLEET)
        assert all(pool.opened(h) == 1 for h in FLEET)
    finally:
        await pool.close()


async def test_handshake_cap_is_settable(fleet: SshdCluster) -> None:
    hosts = tuple(FLEET)[:40]
    profile = make_profile(fleet, {"all": hosts}, handshakes=3)
    pool = SshPool(profile)
    try:
        assert await pool.connect_all() == dict.fromkeys(hosts)
        assert pool.stats.handshakes_max == 3, pool.stats
    finally:
        await pool.close()


DRIVER = textwrap.dedent(
    """
    import asyncio, json, os, resource, sys
    sys.path.insert(0, {root!r})
    from tests.runner.helpers import make_profile, step
    from tests.runner.cluster import SshdCluster
    from tests.support.sshd import TestSshd
    from cockpit.runner import Runner
    from cockpit.ssh.pool import SshPool

    soft, hard = {soft}, {hard}
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    workdir = __import__("pathlib").Path({workdir!r})
    servers = [TestSshd(workdir / d, port={port}) for d in sorted(os.listdir(workdir)) if d.startswith("sshd")]
    cluster = SshdCluster(workdir, servers)
    hosts = tuple({hosts!r})

    async def main():
        profile = make_profile(cluster, {{"all": hosts}})
        pool = SshPool(profile)
        try:
            errors = await pool.connect_all()
            result = await Runner(profile, pool).run(step("echo ok"))
        finally:
            await pool.close()
        print(json.dumps({{
            "limit": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
            "notice": getattr(pool, "limit_notice", None),
            "errors": errors,
            "ok": sum(h.state == "ok" for h in result.hosts),
            "host_errors": [h.error for h in result.hosts if h.state != "ok"],
        }}))

    asyncio.run(main())
    """
)


def run_driver(fleet: SshdCluster, soft: int, hard: int) -> dict[str, object]:
    """Drive the 120 hosts from a child process with RLIMIT_NOFILE (soft, hard) and no USER/LOGNAME.

    Without a user name in the environment, every ``getpass.getuser()`` reads the
    password database, which needs a free file descriptor.
    """
    script = DRIVER.format(root=str(ROOT), soft=soft, hard=hard, workdir=str(fleet.workdir),
                           port=fleet.port, hosts=tuple(FLEET))
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "LNAME", "USERNAME")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_low_soft_fd_limit_is_raised_at_start(fleet: SshdCluster) -> None:
    out = run_driver(fleet, soft=100, hard=4096)
    assert out["ok"] == len(FLEET), out
    assert not any(out["errors"].values()), out  # type: ignore[union-attr]
    limit = out["limit"]
    assert isinstance(limit, list) and limit[0] > 100, limit
    assert out["notice"] is None


def test_a_hard_fd_limit_too_low_is_said_clearly_and_nothing_crashes(fleet: SshdCluster) -> None:
    out = run_driver(fleet, soft=100, hard=100)
    notice = out["notice"]
    assert isinstance(notice, str) and "open-file limit" in notice and "120 hosts" in notice, notice
    assert "ulimit -n" in notice, notice
    errors = out["errors"]
    assert isinstance(errors, dict)
    failed = [e for e in errors.values() if e is not None]
    assert failed, "120 connections cannot fit in 100 file descriptors"
    # every failure says why, the same way; no KeyError from the password database, no EMFILE chaos
    for e in failed:
        assert "open-file limit" in e and "getpwuid" not in e and "Too many open files" not in e, e
    assert out["ok"] == len(FLEET) - len(failed), out
    assert out["ok"] >= 40, out  # the connections that fit are all usable


def test_cockpit_run_says_when_the_open_file_limit_is_too_low(fleet: SshdCluster, tmp_path: Path) -> None:
    import resource

    hosts = ", ".join(f'"{h}"' for h in FLEET)
    profile = tmp_path / "p.toml"
    profile.write_text(
        f'[cockpit]\nname = "fd"\nenvironment = "test"\n\n[ssh]\nconfig = "{fleet.ssh_config}"\n'
        f'known_hosts = "{fleet.known_hosts}"\n\n[hosts]\nall = [{hosts}]\n\n'
        '[[step]]\nid = "s"\ntitle = "s"\nphase = "rollback"\nhosts = "all"\ncommand = "echo ok"\n'
        'confirm = "none"\n'
    )

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))

    proc = subprocess.run([sys.executable, "-m", "cockpit", "run", "s", "--profile", str(profile)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, preexec_fn=limit, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "open-file limit too low" in line]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("cockpit run: open-file limit too low for 120 hosts: they need about ")
    assert "(hard 100)" in lines[0] and "ulimit -n" in lines[0]
    assert "open-file limit (100) leaves room for" in proc.stdout


def test_keepalives_are_stretched_for_large_fleets() -> None:
    from cockpit.ssh.pool import keepalive_interval

    assert keepalive_interval(15.0, 20) == 15.0
    assert keepalive_interval(15.0, 1000) == 50.0  # at most 20 keepalives a second over the fleet
    assert keepalive_interval(0.0, 1000) == 0.0  # off stays off
