"""SSH transport: one verified asyncssh connection per host (:mod:`cockpit.ssh.pool`)."""

from cockpit.ssh.errors import RemoteCommandError, SshError

__all__ = ["RemoteCommandError", "SshError"]
