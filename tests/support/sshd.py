"""A real OpenSSH ``sshd`` on loopback for tests: its own host key, client key and known_hosts.

One sshd process listens on one port on several 127.x addresses; each address plays
one host. ``ssh_config`` maps friendly host names (``web-1``…) to those addresses, the
way a bastion's ``~/.ssh/config`` would, and ``known_hosts`` holds the real host key
for each ``[addr]:port``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free on ``host`` a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """Generate an unencrypted key pair at ``path`` (and ``path.pub``)."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", "cockpit-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def wait_for_port(host: str, port: int, deadline_s: float = 10.0) -> None:
    """Poll until a TCP connect to ``host:port`` succeeds, or raise TimeoutError."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > end:
                raise TimeoutError(f"nothing listening on {host}:{port} after {deadline_s}s") from None
            time.sleep(0.02)


@dataclass
class TestSshd:
    """One sshd serving ``hosts`` (name -> 127.x address) on a shared port."""

    workdir: Path
    hosts: Mapping[str, str] = field(default_factory=lambda: {"host-1": "127.0.0.1"})
    extra_config: str = ""
    port: int = 0
    max_startups: str = "400:30:800"  # sshd's own default is 10:30:100 (drops handshakes above 10)
    user: str = field(default_factory=getpass.getuser)
    max_sessions: int = 50  # sshd's own default is 10
    log_level: str = "ERROR"  # DEBUG1 logs every auth request ("userauth-request ... method none")
    proc: subprocess.Popen[bytes] | None = None

    __test__ = False  # not a pytest test class

    @property
    def host_key(self) -> Path:
        return self.workdir / "ssh_host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def ssh_config(self) -> Path:
        return self.workdir / "ssh_config"

    @property
    def log(self) -> Path:
        return self.workdir / "sshd.log"

    def host_key_line(self) -> str:
        return self.host_key.with_suffix(".pub").read_text().split(" ", 2)[1]

    def known_hosts_lines(self, key_b64: str | None = None) -> str:
        key = key_b64 or self.host_key_line()
        return "".join(f"[{addr}]:{self.port} ssh-ed25519 {key}\n" for addr in self.hosts.values())

    def start(self) -> TestSshd:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.host_key.exists():
            keygen(self.host_key)
            keygen(self.client_key)
        auth = self.workdir / "authorized_keys"
        auth.write_text(self.client_key.with_suffix(".pub").read_text())
        auth.chmod(0o600)
        first = next(iter(self.hosts.values()))
        self.port = self.port or free_port(first)
        listen = "".join(f"ListenAddress {addr}:{self.port}\n" for addr in self.hosts.values())
        cfg = self.workdir / "sshd_config"
        cfg.write_text(
            f"{listen}"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {auth}\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\n"
            "UsePAM no\n"
            "StrictModes no\n"
            f"MaxStartups {self.max_startups}\n"
            f"MaxSessions {self.max_sessions}\n"
            f"LogLevel {self.log_level}\n"
            # bash reads ~/.bashrc for commands run by sshd unless SHLVL says it is nested;
            # root's .bashrc here runs pyenv init (≈0.15 s CPU per command).
            "SetEnv SHLVL=1\n"
            f"Subsystem sftp internal-sftp\n{self.extra_config}"
        )
        self.known_hosts.write_text(self.known_hosts_lines())
        self.ssh_config.write_text(
            "".join(
                f"Host {name}\n  HostName {addr}\n  Port {self.port}\n  User {self.user}\n"
                f"  IdentityFile {self.client_key}\n"
                for name, addr in self.hosts.items()
            )
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            for addr in self.hosts.values():
                wait_for_port(addr, self.port)
        except TimeoutError as e:
            self.stop()
            raise RuntimeError(f"sshd did not start: {e}\n{self.log.read_text()}") from None
        return self

    def session_children(self) -> list[int]:
        """Pids of the per-connection sshd processes (children of the listener)."""
        if self.proc is None:
            return []
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]

    def kill_sessions(self) -> int:
        """Kill every open connection's sshd process (drops connections mid-step)."""
        pids = self.session_children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        # per-connection children are in their own sessions: kill what is left
        self.kill_sessions()
        self.proc = None


@contextlib.contextmanager
def running_sshd(
    workdir: Path, hosts: Mapping[str, str] | None = None, extra_config: str = ""
) -> Iterator[TestSshd]:
    """Context manager: a started :class:`TestSshd`, stopped on exit."""
    sshd = TestSshd(workdir, dict(hosts or {"host-1": "127.0.0.1"}), extra_config)
    sshd.start()
    try:
        yield sshd
    finally:
        sshd.stop()
