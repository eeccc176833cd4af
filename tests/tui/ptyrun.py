"""Run a command on a pseudo-terminal of a given size (Textual needs a real terminal).

The output is drained in a thread so the child never blocks on a full pty buffer.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class PtyProcess:
    """The pty's master is read by one thread and closed only once that thread has ended: an fd closed
    while a thread is blocked reading it can be read again under the same number once another file
    reuses it (the thread would steal that file's data)."""

    proc: subprocess.Popen[bytes]
    master: int
    output: bytearray = field(default_factory=bytearray)
    _reader: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def _drain(self) -> None:
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.1)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self._reader is not None:
                self._reader.join(timeout=2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=5)
            if self._reader.is_alive():      # never close what a live reader may read again
                return
        try:
            os.close(self.master)
        except OSError:
            pass


def spawn(argv: Sequence[str], *, cols: int = 120, rows: int = 36, env: Mapping[str, str] | None = None,
          cwd: str | None = None) -> PtyProcess:
    """Start ``argv`` with stdin/stdout/stderr on a new pty of ``cols`` x ``rows``."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        list(argv), stdin=slave, stdout=slave, stderr=slave, env={**os.environ, "TERM": "xterm-256color", **(env or {})},
        cwd=cwd, start_new_session=True,
    )
    os.close(slave)
    p = PtyProcess(proc, master)
    p._reader = threading.Thread(target=p._drain, daemon=True)
    p._reader.start()
    return p
