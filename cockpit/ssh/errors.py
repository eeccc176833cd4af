"""Turning connect failures into one-line reasons an operator can act on."""

from __future__ import annotations

import errno
import socket

import asyncssh


class SshError(Exception):
    """An SSH failure with a message fit for the screen (host name first, never a secret)."""

    def __init__(self, host: str, reason: str, *, permanent: bool = False) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason
        self.permanent = permanent  # retrying cannot help (host key, authentication, config)


def is_transient(exc: BaseException) -> bool:
    """A handshake refused, reset or dropped before it completed (sshd's ``MaxStartups``, a full
    backlog): worth a retry after a backoff. Never an authentication or host key failure."""
    return isinstance(exc, ConnectionRefusedError | ConnectionResetError | asyncssh.ConnectionLost)


def describe(exc: BaseException, *, timeout: float) -> tuple[str, bool]:
    """``(reason, permanent)`` for an exception raised while connecting."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"authentication failed ({exc.reason})", True
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return f"host key not trusted ({exc.reason})", True
    if isinstance(exc, asyncssh.ConnectionLost):
        why = exc.reason.strip()
        return ("connection lost" + (f" ({why})" if why and why.lower() != "connection lost" else "")), False
    if isinstance(exc, asyncssh.DisconnectError):
        return f"disconnected by server: {exc.reason or type(exc).__name__}", False
    if isinstance(exc, TimeoutError):
        return f"connect timed out after {timeout:g}s", False
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", False
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        return "too many open files: raise the open-file limit (ulimit -n)", False
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror})", False
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__, False
    if isinstance(exc, asyncssh.KeyImportError | asyncssh.KeyEncryptionError):
        return f"cannot load a client key: {exc}", True
    if isinstance(exc, asyncssh.ConfigParseError):
        return f"bad ssh config: {exc}", True
    return f"{type(exc).__name__}: {exc}", False


class RemoteCommandError(SshError):
    """A remote command that did not give its answer: non-zero exit, timeout, lost channel."""
