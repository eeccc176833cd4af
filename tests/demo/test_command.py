"""``cockpit demo`` for real: a child process on a pseudo-terminal, the TUI drawn, quit with ``q``."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

COCKPIT = Path(sys.executable).parent / "cockpit"
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[a-zA-Z~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def _read_until(fd: int, pid: int, want: list[bytes], deadline: float) -> tuple[bytes, bool]:
    """Screen text read until every ``want`` appeared (True) or the deadline passed / the child left."""
    seen = b""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            text = ANSI.sub(b"", seen)
            if all(w in text for w in want):
                return text, True
    return ANSI.sub(b"", seen), False


def _wait_exit(pid: int, deadline: float) -> int | None:
    end = time.monotonic() + deadline
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0  # already reaped
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= end:
            return None
        time.sleep(0.05)


def test_cockpit_demo_opens_the_tui_and_quits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(tmp_path), "COLUMNS": "160", "LINES": "48"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: cockpit demo, as a newcomer would type it
        os.execve(str(COCKPIT), ["cockpit", "demo", "--speed", "10"], env)
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        text, ok = _read_until(
            fd,
            pid,
            [b"academy-demo", b"Horizon queue depth", b"search-index", b"DRIVER", b"ssh 5/5 connected"],
            deadline=60,
        )
        assert ok, text[-2000:].decode(errors="replace")
        assert b"Traceback" not in text
        assert list(tmp_path.glob("cockpit-demo-*")), "the stack lives in a temp dir while it runs"
        os.write(fd, b"q")
        status = _wait_exit(pid, deadline=30)
        assert status == 0
        assert not list(tmp_path.glob("cockpit-demo-*")), "the temp dir is removed on exit"
    finally:
        if _wait_exit(pid, 0) is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
