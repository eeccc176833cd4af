"""Run one command on one open connection so that stopping it really stops it.

Measured with asyncssh 2.24 against OpenSSH 9.2: a timed-out ``run()`` leaves the
remote process running, and a ``signal`` request is refused on a root login ("session
signalling requires privilege separation": sshd keeps no privilege separation after a
root login) and not implemented by every server, but closing a pty-backed channel hangs
up the terminal and the remote command dies with it, whoever logged in. A terminal also
makes the remote commands line-buffer their output, so it streams live. Hence a command
runs with a pty by default (``TERM=dumb``, no echo): stderr arrives merged into stdout, lines
end in ``\\r\\n`` (stripped here). Stdin is a terminal at end of file: one ``^D``
is typed, so a command that stops to ask a question reads EOF instead of hanging
until its timeout.

A step with ``pty = false`` runs without a terminal: sshd allocates no pty and records no
login (docs/fleet.md measures what that saves). Its stop cannot rely on a hang-up, so the
command gets a first line: the login shell prints its pid on stderr behind a per-run tag
(sshd starts every session in a new session and process group, so that pid is the
group's id); the command follows, run by the same shell as with a pty. A stop kills that
process group from a second session on the same connection (``TERM``, then ``KILL`` after
`KILL_GRACE`; that session is asked for again while sshd's ``MaxSessions`` refuses it), then
closes the channel. That first line needs a POSIX login shell (sh, bash, dash, zsh, ksh).
A stop that cannot find the command, or cannot open its kill session, says so
(``on_unstopped``). Stdin is at end of file; stdout and stderr are read as they come, each
line whole.

Output is read in chunks, never with ``readline``: a line without end would be
held whole in memory. Lines are cut at `cockpit.output.MAX_LINE` characters as
they are read (marked "(truncated)"; the rest of the line is dropped unread).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import shlex
from collections.abc import Callable

import asyncssh
from asyncssh.channel import SSHChannel

from cockpit.output import LineSplitter

EOF_KEY = "\x04"
KILL_GRACE = 2.0          # pty = false: seconds between TERM and KILL of the remote process group
KILL_OPEN_WAIT = 15.0     # pty = false: how long a stop asks again for a session to kill from
PGID_WAIT = 5.0           # pty = false: how long a stop waits for the pid of a command just started
_TAG = "\x1ecockpit-pgid"  # starts with a record separator: not a thing commands print


class CommandLost(Exception):
    """The command's channel ended without an exit status (connection dropped, session refused)."""


def clean_line(raw: str) -> str:
    """A pty line as a terminal would show it: no line ending, only the text after the last ``\\r``."""
    text = raw.rstrip("\n").rstrip("\r")
    return text.rsplit("\r", 1)[-1]


class _PtySession(asyncssh.SSHClientSession[bytes]):
    """The command's channel, read as it arrives: each chunk goes straight to the line splitter.

    A plain session rather than asyncssh's process layer (streams, readers, an await per
    read): at 1,000 hosts the command layer took 0.70 s of client CPU this way against
    0.99 s on the process layer (docs/fleet.md). A listener that raises is remembered and
    the channel closed: the command never runs on unread.
    """

    def __init__(self, lines: LineSplitter, done: asyncio.Future[Exception | None]) -> None:
        self._lines = lines
        self._done = done
        self.chan: asyncssh.SSHClientChannel[bytes] | None = None
        self.failed: BaseException | None = None

    def connection_made(self, chan: SSHChannel[bytes]) -> None:
        assert isinstance(chan, asyncssh.SSHClientChannel)
        self.chan = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if self.failed is None:
            self._feed(self._lines, data)

    def _feed(self, splitter: LineSplitter, data: bytes) -> None:
        try:
            splitter.feed(data)
        except BaseException as exc:  # an output listener failed: stop the command, say why later
            self.failed = exc
            self._stop()

    def _stop(self) -> None:
        """After a listener failed: with a pty, closing the channel hangs the command up."""
        if self.chan is not None:
            self.chan.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(exc)


class _PlainSession(_PtySession):
    """Without a pty: stdout and stderr split into lines apart; the first stderr line that is exactly
    the run's tag and a number gives the remote process group, and is not shown."""

    def __init__(self, lines: LineSplitter, errors: LineSplitter, done: asyncio.Future[Exception | None]) -> None:
        super().__init__(lines, done)
        self.errors = errors
        self.pgid: asyncio.Future[int] = done.get_loop().create_future()
        self.closed = False

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            self._feed(self.errors, data)   # read after a failure too: the pid the stop needs may be in it
        elif self.failed is None:
            self._feed(self._lines, data)

    def _stop(self) -> None:
        """No hang-up without a pty: wake `run_command`, which kills the process group."""
        if not self._done.done():
            self._done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.pgid.done():
            self.pgid.cancel()
        super().connection_lost(exc)


def plain_command(command: str, tag: str) -> str:
    """``command`` for the login shell of a session without a pty: a first line prints ``tag`` and the
    shell's pid on stderr, then the command follows as its own lines, run by the same shell as with a
    pty (no extra process: sshd's fork and exec are the cost being saved)."""
    return f"printf '%s %s\\n' {shlex.quote(tag)} \"$$\" >&2\n{command}"


async def _kill_group(conn: asyncssh.SSHClientConnection, pgid: int) -> str | None:
    """TERM the remote process group, KILL it if anything of it is left after `KILL_GRACE`.

    Returns None once the kill ran, else why it could not. The kill needs a session of its
    own: a host at sshd's ``MaxSessions`` refuses it while other commands hold theirs (the
    pool leaves one free; steps stopped at once share it), so a refused session is asked
    for again until `KILL_OPEN_WAIT` has passed.
    """
    steps = int(KILL_GRACE / 0.1)
    script = (f"kill -TERM -{pgid} 2>/dev/null || exit 0; i=0; while [ $i -lt {steps} ]; do "
              f"kill -0 -{pgid} 2>/dev/null || exit 0; sleep 0.1; i=$((i+1)); done; "
              f"kill -KILL -{pgid} 2>/dev/null; exit 0")
    give_up = asyncio.get_running_loop().time() + KILL_OPEN_WAIT
    while True:
        try:
            async with asyncio.timeout(KILL_GRACE + 10.0):
                result = await conn.run(f"exec /bin/sh -c {shlex.quote(script)}", check=False)
        except asyncssh.ChannelOpenError as exc:
            if asyncio.get_running_loop().time() < give_up and not conn.is_closed():
                await asyncio.sleep(random.uniform(0.1, 0.3))
                continue
            return f"the stop could not open a session to kill it ({exc.reason})"
        except (asyncssh.Error, OSError) as exc:
            return f"the stop's kill session failed ({exc})"
        except TimeoutError:
            return "the stop's kill session did not end"
        if result.exit_status != 0:
            return f"the stop's kill ended with status {result.exit_status}"
        return None


async def run_command(
    conn: asyncssh.SSHClientConnection,
    command: str,
    *,
    timeout: float,
    on_line: Callable[[str], None],
    pty: bool = True,
    on_unstopped: Callable[[str], None] | None = None,
) -> int:
    """Run ``command``, calling ``on_line`` per output line; return its exit status.

    Raises ``TimeoutError`` (after stopping the remote command), :class:`CommandLost`, or
    ``CancelledError`` (the command stopped first as well). ``pty``: see the module's doc;
    ``on_unstopped(why)``: called when a stop could not reach the command (``pty = false`` only).
    """
    done: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
    lines = LineSplitter(lambda raw: on_line(clean_line(raw)))
    session: _PtySession
    if pty:
        session = _PtySession(lines, done)
        extra: dict[str, object] = {"term_type": "dumb", "term_modes": {asyncssh.PTY_ECHO: 0}}
    else:
        tag = f"{_TAG}-{secrets.token_hex(8)}"
        plain = _PlainSession(lines, LineSplitter(lambda raw: told(clean_line(raw))), done)

        def told(text: str) -> None:
            head, _, pid = text.partition(" ")
            if head == tag and pid.isdigit() and int(pid) > 1 and not plain.pgid.done():   # never "-1": all
                plain.pgid.set_result(int(pid))
            elif plain.failed is None:
                on_line(text)

        session, extra, command = plain, {}, plain_command(command, tag)
    try:
        chan, _ = await conn.create_session(lambda: session, command, encoding=None, **extra)  # type: ignore[arg-type]
    except asyncssh.ChannelOpenError as exc:
        raise CommandLost(f"cannot open a session: {exc.reason}") from None
    except (asyncssh.Error, OSError) as exc:
        raise CommandLost(f"cannot open a session: {exc}") from None
    try:
        # a quick command may already have exited and its channel closed: nothing to answer then
        with contextlib.suppress(asyncssh.ProtocolError, BrokenPipeError, OSError):
            if pty:
                chan.write(EOF_KEY.encode())
            else:
                chan.write_eof()
        async with asyncio.timeout(timeout):
            lost = await asyncio.shield(done)
            if session.failed is not None:
                raise session.failed
    except BaseException:   # timed out, cancelled, a listener failed: never leave the command running
        try:
            if isinstance(session, _PlainSession) and not session.closed:
                await asyncio.shield(_stop_plain(conn, session, on_unstopped or (lambda why: None)))
        finally:
            chan.close()
        raise
    lines.close()
    if isinstance(session, _PlainSession):
        session.errors.close()
    status, signal = chan.get_exit_status(), chan.get_exit_signal()
    if status is not None and status >= 0:
        return status
    if signal:
        raise CommandLost(f"killed by signal {signal[0]}")
    # with a pty, sshd hangs the terminal up when it sees the connection gone; without one
    # nothing stops the command there, and the result must not read as if it had ended
    after = "" if pty else "; without a terminal nothing stopped it there: it may still be running"
    if lost is not None:
        raise CommandLost(f"connection lost while the command ran ({lost}){after}")
    raise CommandLost(f"connection lost while the command ran{after}")


async def _stop_plain(conn: asyncssh.SSHClientConnection, session: _PlainSession,
                      unstopped: Callable[[str], None]) -> None:
    """Kill the process group of a command without a pty (its pid awaited a moment if not told yet).
    Nothing is killed once the channel has closed: the group's id could then belong to another."""
    why: str | None
    try:
        async with asyncio.timeout(PGID_WAIT):
            pgid = await asyncio.shield(session.pgid)
    except (TimeoutError, asyncio.CancelledError):
        why = None if session.closed else "its process id never came (is the login shell POSIX?)"
    else:
        why = None if session.closed else await _kill_group(conn, pgid)
    if why is not None:
        unstopped(f"{why}: the remote command may still be running")
