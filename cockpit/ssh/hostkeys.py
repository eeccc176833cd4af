"""Host key checking that names the key it refused.

asyncssh checks the presented key against known_hosts itself and, when it is not
there, asks the client's ``validate_host_public_key``. :class:`VerifyingClient`
records the key and still answers no, so a refusal can name the SHA256
fingerprint and say whether the key is unknown or CHANGED. Nothing here can
accept a key that known_hosts does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncssh

from cockpit.ssh import directauth

DEFAULT_SSH_PORT = 22


class VerifyingClient(asyncssh.SSHClient):
    """Records an untrusted host key (always refusing it) and reports a lost connection.

    ``direct_auth``: authenticate in one round trip (:mod:`cockpit.ssh.directauth`).
    """

    def __init__(self, on_lost: Callable[[VerifyingClient, Exception | None], None], *,
                 direct_auth: bool = False) -> None:
        self._on_lost = on_lost
        self.refused: tuple[str, str, int, asyncssh.SSHKey] | None = None
        self.direct_auth = direct_auth

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        if self.direct_auth:
            directauth.opt_in(conn)

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.refused = (host, addr, port, key)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_lost(self, exc)


def load_known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    """The known_hosts file, or an empty set when it does not exist (every key is then unknown)."""
    if not path.exists():
        return asyncssh.import_known_hosts("")
    return asyncssh.read_known_hosts(str(path))


def refusal(
    refused: tuple[str, str, int, asyncssh.SSHKey], known: asyncssh.SSHKnownHosts, path: Path
) -> str:
    """Why the presented key was refused, with its fingerprint: unknown, or CHANGED."""
    host, addr, port, key = refused
    fingerprint = key.get_fingerprint("sha256")
    lookup_port = port if port != DEFAULT_SSH_PORT else None
    trusted = asyncssh.match_known_hosts(known, host, addr, lookup_port)[0]
    if trusted:
        return (
            f"CHANGED host key ({fingerprint}) — possible man-in-the-middle; "
            f"{path} holds a different key for {host}"
        )
    where = f"not in {path}" if path.exists() else f"{path} does not exist"
    return f"host key not trusted ({fingerprint}): {where}"
