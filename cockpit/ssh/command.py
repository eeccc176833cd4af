"""Run one command on one open connection, in a pty, so that stopping it really stops it.

Measured with asyncssh 2.24 against OpenSSH 9.2: a timed-out ``run()`` leaves the
remote process running and signals are refused, but closing a pty-backed channel
hangs up the terminal and the remote command dies with it. Hence every command
runs with a pty (``TERM=dumb``, no echo): stderr arrives merged into stdout, lines
end in ``\\r\\n`` (stripped here). Stdin is a terminal at end of file: one ``^D``
is typed, so a command that stops to ask a question reads EOF instead of hanging
until its timeout.

Output is read in chunks, never with ``readline``: a line without end would be
held whole in memory. Lines are cut at `cockpit.output.MAX_LINE` characters as
they are read (marked "(truncated)"; the rest of the line is dropped unread).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncssh

from cockpit.output import LineSplitter

EOF_KEY = "\x04"


class CommandLost(Exception):
    """The command's channel ended without an exit status (connection dropped, session refused)."""


def clean_line(raw: str) -> str:
    """A pty line as a terminal would show it: no line ending, only the text after the last ``\\r``."""
    text = raw.rstrip("\n").rstrip("\r")
    return text.rsplit("\r", 1)[-1]


async def run_in_pty(
    conn: asyncssh.SSHClientConnection,
    command: str,
    *,
    timeout: float,
    on_line: Callable[[str], None],
) -> int:
    """Run ``command``, calling ``on_line`` per output line; return its exit status.

    Raises ``TimeoutError`` (after closing the channel: the remote command is hung up),
    :class:`CommandLost`, or ``CancelledError`` (channel closed first as well).
    """
    try:
        proc = await conn.create_process(
            command,
            term_type="dumb",
            term_modes={asyncssh.PTY_ECHO: 0},
            encoding="utf-8",
            errors="replace",
        )
    except asyncssh.ChannelOpenError as exc:
        raise CommandLost(f"cannot open a session: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise CommandLost(f"cannot open a session: {exc}") from None
    try:
        # a quick command may already have exited and its channel closed: nothing to answer then
        with contextlib.suppress(asyncssh.ProtocolError, BrokenPipeError):
            proc.stdin.write(EOF_KEY)
        lines = LineSplitter(lambda raw: on_line(clean_line(raw)))
        async with asyncio.timeout(timeout):
            while chunk := await proc.stdout.read(1 << 16):
                lines.feed(chunk)
            lines.close()
            await proc.wait()
    except (asyncio.CancelledError, TimeoutError):
        proc.close()
        raise
    except (asyncssh.Error, OSError) as exc:
        proc.close()
        raise CommandLost(f"connection lost while the command ran ({exc})") from None
    except BaseException:  # e.g. an output listener failed: never leave the command running
        proc.close()
        raise
    if proc.exit_status is not None and proc.exit_status >= 0:
        return proc.exit_status
    if proc.exit_signal:
        raise CommandLost(f"killed by signal {proc.exit_signal[0]}")
    raise CommandLost("connection lost while the command ran")
