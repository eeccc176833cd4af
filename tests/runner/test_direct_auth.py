"""Public-key auth in one round trip (``[ssh] sign_first``), read from a real sshd's own log.

sshd at ``LogLevel DEBUG1`` logs every auth request it gets ("userauth-request for user …
method none") and a key that was only asked about ("Postponed publickey"). The pool's
connections send one signed ``publickey`` request per key file; ``sign_first = false``,
other asyncssh clients in the process and agent keys keep ssh's three steps.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from cockpit.profile.model import Profile
from cockpit.ssh import directauth
from cockpit.ssh.hostkeys import VerifyingClient
from cockpit.ssh.pool import SshPool
from tests.runner.helpers import make_profile, poll
from tests.support.sshd import TestSshd, keygen

HOST = "auth-1"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    server = TestSshd(tmp_path_factory.mktemp("sshd-auth"), {HOST: "127.0.9.1"}, log_level="DEBUG1")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def requests_since(sshd: TestSshd, mark: int) -> list[str]:
    """The auth requests sshd logged after byte ``mark`` of its log: "none", "publickey",
    and "postponed" for a key that was only asked about."""
    text = sshd.log.read_bytes()[mark:].decode(errors="replace")
    out = []
    for line in text.splitlines():
        if m := re.search(r"userauth-request for user \S+ service ssh-connection method (\S+)", line):
            out.append(m.group(1))
        elif "Postponed publickey" in line:
            out.append("postponed")
    return out


def profile_for(sshd: TestSshd, **ssh: Any) -> Profile:
    return make_profile(sshd, groups={"all": (HOST,)}, **ssh)


async def connect_once(profile: Profile) -> None:
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all()
        assert errors == {HOST: None}
    finally:
        await pool.close()


async def test_a_pool_connection_sends_one_signed_request(sshd: TestSshd) -> None:
    mark = sshd.log.stat().st_size
    await connect_once(profile_for(sshd))
    assert requests_since(sshd, mark) == ["publickey"]


async def test_a_refused_key_file_is_signed_and_refused_then_the_next_key_is_tried(
        sshd: TestSshd, tmp_path: Path) -> None:
    stranger = tmp_path / "id_stranger"
    keygen(stranger)
    mark = sshd.log.stat().st_size
    await connect_once(profile_for(sshd, client_keys=(str(stranger), str(sshd.client_key))))
    assert requests_since(sshd, mark) == ["publickey", "publickey"]


async def test_a_server_refusing_every_key_still_says_permission_denied(sshd: TestSshd, tmp_path: Path) -> None:
    stranger = tmp_path / "id_stranger"
    keygen(stranger)
    pool = SshPool(profile_for(sshd, client_keys=(str(stranger),)))
    try:
        errors = await pool.connect_all()
    finally:
        await pool.close()
    assert "ermission denied" in (errors[HOST] or ""), errors


async def test_sign_first_false_asks_first_as_ssh_does(sshd: TestSshd) -> None:
    mark = sshd.log.stat().st_size
    await connect_once(profile_for(sshd, sign_first=False))
    assert requests_since(sshd, mark) == ["none", "publickey", "postponed", "publickey"]


async def connect_bare(sshd: TestSshd, **kwargs: Any) -> None:
    """Connect and close with asyncssh itself (no pool), by address."""
    conn = await asyncssh.connect(next(iter(sshd.hosts.values())), port=sshd.port, username=sshd.user,
                                  known_hosts=str(sshd.known_hosts), config=None, **kwargs)
    conn.close()
    await conn.wait_closed()


async def test_other_asyncssh_clients_in_the_process_are_left_as_they_were(sshd: TestSshd) -> None:
    assert directauth.install()
    mark = sshd.log.stat().st_size
    await connect_bare(sshd, client_keys=[str(sshd.client_key)])
    assert requests_since(sshd, mark) == ["none", "publickey", "postponed", "publickey"]


@pytest.fixture
def agent(sshd: TestSshd, tmp_path: Path) -> Iterator[Path]:
    """A real ssh-agent holding the sshd's client key."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        poll(lambda: sock.exists() or proc.poll() is not None, 10, "the ssh-agent socket")
        assert proc.poll() is None, "ssh-agent exited"
        subprocess.run(["ssh-add", str(sshd.client_key)], env={**os.environ, "SSH_AUTH_SOCK": str(sock)},
                       check=True, capture_output=True, timeout=10)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=5)


async def test_an_agent_key_is_asked_about_before_it_is_used(sshd: TestSshd, agent: Path) -> None:
    """An agent's key may need a touch or a confirmation: it is never signed with in vain."""
    directauth.install()
    mark = sshd.log.stat().st_size
    client = VerifyingClient(lambda c, exc: None, direct_auth=True)
    await connect_bare(sshd, agent_path=str(agent), client_factory=lambda: client)
    got = requests_since(sshd, mark)
    assert got[:3] == ["publickey", "postponed", "publickey"], got


def test_only_a_key_held_in_this_process_is_signed_with_unasked(sshd: TestSshd) -> None:
    assert directauth.signs_silently(asyncssh.load_keypairs([str(sshd.client_key)])[0])
