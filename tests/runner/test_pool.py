"""SshPool against a real sshd: host key checks, clear connect errors, reuse, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

import asyncssh

from cockpit.profile.model import Profile
from cockpit.runner import Runner
from cockpit.ssh.pool import SshPool
from tests.runner.cluster import SshdCluster
from tests.runner.helpers import HOSTS, LOCAL_ADDR, make_profile, ssh_config_with_dead, step
from tests.support.sshd import keygen


def server_fingerprint(sshd: SshdCluster) -> str:
    key = asyncssh.read_public_key(str(sshd.host_key.with_suffix(".pub")))
    return key.get_fingerprint("sha256")


async def test_changed_host_key_is_refused_with_fingerprint(sshd: SshdCluster, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_key")
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_lines(other.with_suffix(".pub").read_text().split()[1]))
    events: list[tuple[str, str, str]] = []
    pool = SshPool(make_profile(sshd, known_hosts=str(known)), lambda *e: events.append(e))
    try:
        errors = await pool.connect_all(["h01", "h02"])
    finally:
        await pool.close()
    fp = server_fingerprint(sshd)
    for host in ("h01", "h02"):
        msg = errors[host]
        assert msg is not None
        assert msg.startswith(f"{host}: CHANGED host key ({fp}) — possible man-in-the-middle"), msg
        assert str(known) in msg
    assert ("h01", "down", errors["h01"].removeprefix("h01: ")) in events


async def test_unknown_host_key_is_refused_with_fingerprint(sshd: SshdCluster, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    # a known_hosts holding only another host's entry: ours is unknown
    known.write_text(f"[127.0.9.9]:{sshd.port} ssh-ed25519 {sshd.host_key_line()}\n")
    pool = SshPool(make_profile(sshd, known_hosts=str(known)))
    try:
        errors = await pool.connect_all(["h03"])
        assert pool.state("h03").startswith("down: host key not trusted")
    finally:
        await pool.close()
    assert errors["h03"] == f"h03: host key not trusted ({server_fingerprint(sshd)}): not in {known}"


async def test_missing_known_hosts_file_refuses_every_key(sshd: SshdCluster, tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "known_hosts"
    pool = SshPool(make_profile(sshd, known_hosts=str(missing)))
    try:
        errors = await pool.connect_all(["h01"])
    finally:
        await pool.close()
    assert errors["h01"] == f"h01: host key not trusted ({server_fingerprint(sshd)}): {missing} does not exist"


async def test_unreachable_and_bad_auth_give_clear_reasons(sshd: SshdCluster, tmp_path: Path) -> None:
    pool = SshPool(make_profile(sshd))
    try:
        errors = await pool.connect_all(["dead-1", "h01"])
    finally:
        await pool.close()
    assert errors == {"dead-1": "dead-1: connection refused", "h01": None}

    stranger = keygen(tmp_path / "stranger")
    pool = SshPool(make_profile(sshd, client_keys=(str(stranger),)))
    try:
        errors = await pool.connect_all(["h02"])
    finally:
        await pool.close()
    assert errors["h02"] is not None and errors["h02"].startswith("h02: authentication failed"), errors


async def test_bad_settings_are_reported_not_raised(sshd: SshdCluster, tmp_path: Path) -> None:
    for kw, expected in (
        ({"config": str(tmp_path / "missing_config")}, "ssh config"),
        ({"client_keys": (str(tmp_path / "missing_key"),)}, "client key"),
    ):
        pool = SshPool(make_profile(sshd, **kw))
        try:
            errors = await pool.connect_all(["h01"])
        finally:
            await pool.close()
        assert errors["h01"] is not None and expected in errors["h01"] and "not found" in errors["h01"]
    garbage = tmp_path / "garbage_key"
    garbage.write_text("this is not a key\n")
    pool = SshPool(make_profile(sshd, client_keys=(str(garbage),)))
    try:
        errors = await pool.connect_all(["h01"])
    finally:
        await pool.close()
    assert errors["h01"] is not None and "cannot be loaded" in errors["h01"]


async def test_connections_opened_once_and_reused(sshd: SshdCluster) -> None:
    hosts = list(HOSTS)[:5]
    profile = make_profile(sshd, {"five": tuple(hosts)})
    pool = SshPool(profile)
    runner = Runner(profile, pool)
    try:
        before = len(sshd.session_children())
        assert await pool.connect_all() == dict.fromkeys(hosts)
        assert all(pool.state(h) == "connected" for h in hosts)
        ports: dict[str, set[str]] = {h: set() for h in hosts}
        for _ in range(3):
            result = await runner.run(
                step("echo $SSH_CONNECTION", hosts="five"),
                on_output=lambda line: ports[line.host].add(line.text.split()[1]),
            )
            assert result.state == "ok", result
        assert all(len(p) == 1 for p in ports.values()), ports  # same client port every step
        assert len({next(iter(p)) for p in ports.values()}) == 5  # one connection per host
        assert all(pool.opened(h) == 1 for h in hosts)
        assert len(sshd.session_children()) - before == 5
    finally:
        await pool.close()


async def test_dropped_connection_fails_the_host_and_next_step_reconnects(sshd: SshdCluster) -> None:
    profile = make_profile(sshd, {"two": ("h04", "h05")})
    events: list[tuple[str, str, str]] = []
    pool = SshPool(profile, lambda *e: events.append(e))
    runner = Runner(profile, pool)
    started: set[str] = set()
    both = asyncio.Event()

    def seen(line: object) -> None:
        started.add(line.host)  # type: ignore[attr-defined]
        if len(started) == 2:
            both.set()

    try:
        task = asyncio.create_task(runner.run(step("echo started; sleep 5; echo never", hosts="two"), on_output=seen))
        await asyncio.wait_for(both.wait(), 5)
        assert sshd.kill_sessions() >= 2
        result = await asyncio.wait_for(task, 5)
        assert result.state == "failed"
        for host in result.hosts:
            assert host.state == "failed"
            assert host.error is not None and "connection lost" in host.error
            assert host.tail == ("started",)
        # the server side of a killed session can linger a moment: wait until the pool saw the drop
        deadline = asyncio.get_running_loop().time() + 5
        while not {e[0] for e in events if e[1] == "reconnecting"} >= {"h04", "h05"}:
            assert asyncio.get_running_loop().time() < deadline, events
            await asyncio.sleep(0.01)
        assert ("h04", "reconnecting", "connection lost") in events
        again = await runner.run(step("echo back", hosts="two"))
        assert again.state == "ok", again
        assert all(pool.state(h) == "connected" for h in ("h04", "h05"))
        assert pool.opened("h04") == 2
    finally:
        await pool.close()


def descendants(pids: list[int]) -> list[int]:
    out = list(pids)
    for pid in pids:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
        out.extend(descendants([int(p) for p in found.split()]))
    return out


async def test_keepalive_detects_a_silent_server_and_reconnects(sshd: SshdCluster) -> None:
    """A server that stops answering (SIGSTOP) is declared dead by keepalives, then reopened."""
    server = sshd.servers[1]  # plays h17-h20
    profile = make_profile(sshd, {"one": ("h18",)}, keepalive=0.3, keepalive_count_max=2)
    events: list[tuple[str, str, str]] = []
    pool = SshPool(profile, lambda *e: events.append(e))
    frozen: list[int] = []
    try:
        before = set(descendants(server.session_children()))
        assert await pool.connect_all() == {"h18": None}
        frozen = [p for p in descendants(server.session_children()) if p not in before]
        assert frozen
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not any(e[1] == "reconnecting" for e in events) or pool.state("h18") != "connected":
            assert loop.time() < deadline, events
            await asyncio.sleep(0.02)
        reason = next(e[2] for e in events if e[1] == "reconnecting")
        assert reason.startswith("connection lost"), reason
        assert pool.opened("h18") == 2
        assert await Runner(profile, pool).sample("h18", "echo alive", 2) == "alive"
    finally:
        await pool.close()
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_proxyjump_uses_one_verified_jump_connection(sshd: SshdCluster, tmp_path: Path) -> None:
    base = ssh_config_with_dead(sshd).read_text()
    key = sshd.servers[0].client_key
    blocks = "".join(
        f"Host {name}\n  HostName {addr}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {key}\n  ProxyJump {jump}\n"
        for name, addr, jump in (("behind-1", "127.0.2.6", "h01"), ("behind-2", "127.0.2.7", "h01"),
                                 ("via-dead", "127.0.2.8", "dead-1"))
    )
    cfg = tmp_path / "ssh_config"
    cfg.write_text(blocks + base)
    profile = make_profile(sshd, {"b": ("behind-1", "behind-2", "via-dead")}, config=str(cfg))
    pool = SshPool(profile)
    try:
        errors = await pool.connect_all()
        assert errors == {"behind-1": None, "behind-2": None,
                          "via-dead": "via-dead: via jump host dead-1: connection refused"}
        assert await Runner(profile, pool).sample("behind-2", f"echo {LOCAL_ADDR}", 2) == "127.0.2.7"
        assert len(pool._jumps) == 1  # both hosts behind h01 share one jump connection
    finally:
        await pool.close()

    # the jump host's key is checked against the profile's known_hosts too
    known = tmp_path / "known_hosts"
    known.write_text("".join(line for line in sshd.known_hosts.read_text().splitlines(keepends=True)
                             if not line.startswith("[127.0.2.1]:")))
    pool = SshPool(make_profile(sshd, {"b": ("behind-1",)}, config=str(cfg), known_hosts=str(known)))
    try:
        errors = await pool.connect_all()
    finally:
        await pool.close()
    assert errors["behind-1"] == (f"behind-1: via jump host h01: host key not trusted "
                                  f"({server_fingerprint(sshd)}): not in {known}")


async def fire_while_connecting(profile: Profile, hosts: tuple[str, ...]) -> None:
    """Start connect_all, fire a step (and samples) once every host's connect is in flight, check."""
    in_flight = asyncio.Event()
    connecting: set[str] = set()
    connected_early: list[str] = []

    def event(host: str, kind: str, detail: str) -> None:
        if kind == "connecting":
            connecting.add(host)
            if connecting == set(hosts):
                in_flight.set()
        elif kind == "connected" and not in_flight.is_set():
            connected_early.append(host)

    pool = SshPool(profile, event)
    runner = Runner(profile, pool)
    ports: dict[str, set[int]] = {h: set() for h in hosts}
    try:
        connect = asyncio.create_task(pool.connect_all())
        await asyncio.wait_for(in_flight.wait(), 5)
        # every host's first connect is under way and none has finished: fire now
        assert not connected_early
        assert all(pool.state(h) == "connecting" for h in hosts)
        result, sampled = await asyncio.gather(
            runner.run(step("echo $SSH_CONNECTION"),
                       on_output=lambda line: ports[line.host].add(int(line.text.split()[1]))),
            asyncio.gather(*(runner.sample(h, "echo $SSH_CONNECTION", 5) for h in hosts[:4])),
        )
        assert await asyncio.wait_for(connect, 10) == dict.fromkeys(hosts)
        assert result.state == "ok", result.reason
        for h, text in zip(hosts[:4], sampled, strict=True):
            ports[h].add(int(text.split()[1]))
        for h in hosts:
            conn = await pool.connection(h)
            assert not conn.is_closed()
            assert pool.opened(h) == 1, h
            # the step and the samples ran over the one connection the pool keeps
            assert ports[h] == {conn.get_extra_info("sockname")[1]}, (h, ports[h])
    finally:
        await pool.close()


async def test_step_fired_while_connect_all_is_connecting_shares_its_connections(sshd: SshdCluster) -> None:
    """A step fired at session start, every host's connect still in flight, waits for THAT connect.

    No second connection, none handed out before it is established, none replaced or closed
    once connect_all finishes: each host's command runs over the connection the pool keeps
    (the client port ``$SSH_CONNECTION`` shows), opened exactly once.
    """
    hosts = tuple(HOSTS)
    profile = make_profile(sshd, {"all": hosts})
    for _ in range(3):
        await fire_while_connecting(profile, hosts)
