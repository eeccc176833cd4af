"""Several sshd processes acting as one: OpenSSH listens on at most 16 addresses per process
(``MAX_LISTEN_SOCKS``), so N hosts take ceil(N/16) sshds sharing one port, one host key and
one client key. The merged ``ssh_config`` and ``known_hosts`` look like one fleet.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.sshd import TestSshd, free_port, keygen

MAX_LISTEN = 16


@dataclass
class SshdCluster:
    workdir: Path
    servers: list[TestSshd]

    @property
    def port(self) -> int:
        return self.servers[0].port

    @property
    def user(self) -> str:
        return self.servers[0].user

    @property
    def host_key(self) -> Path:
        return self.workdir / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.workdir / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    def host_key_line(self) -> str:
        return self.servers[0].host_key_line()

    def known_hosts_lines(self, key_b64: str | None = None) -> str:
        return "".join(s.known_hosts_lines(key_b64) for s in self.servers)

    def session_children(self) -> list[int]:
        return [pid for s in self.servers for pid in s.session_children()]

    def kill_sessions(self) -> int:
        return sum(s.kill_sessions() for s in self.servers)

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


@contextlib.contextmanager
def running_cluster(
    workdir: Path, hosts: Mapping[str, str], *, max_startups: str | None = None, extra_config: str = ""
) -> Iterator[SshdCluster]:
    """Start enough sshds for ``hosts`` (name -> 127.x address) on one shared port.

    ``max_startups``: each sshd's ``MaxStartups`` (default: the fixture's generous one).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = SshdCluster(workdir, [])
    keygen(cluster.host_key)
    keygen(cluster.client_key)
    items = list(hosts.items())
    port = free_port(items[0][1])
    try:
        for i in range(0, len(items), MAX_LISTEN):
            sub = workdir / f"sshd{i // MAX_LISTEN}"
            sub.mkdir()
            for key in (cluster.host_key, cluster.client_key):
                for path in (key, key.with_suffix(".pub")):
                    shutil.copy2(path, sub / path.name)
            server = TestSshd(sub, dict(items[i : i + MAX_LISTEN]), extra_config, port=port)
            if max_startups is not None:
                server.max_startups = max_startups
            cluster.servers.append(server)
            server.start()
        cluster.ssh_config.write_text("".join(s.ssh_config.read_text() for s in cluster.servers))
        cluster.known_hosts.write_text(cluster.known_hosts_lines())
        yield cluster
    finally:
        cluster.stop()
