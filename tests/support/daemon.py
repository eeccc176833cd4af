"""A real daemon on loopback for the tests: spawned on a free port, polled until ready, stopped.

The shape :class:`~tests.support.prometheus.TestPrometheus` and
:class:`~tests.support.alertmanager.TestAlertmanager` share: a work directory, a log
file there, its own session (so a signal reaches only it), ``/-/ready`` polled until
200, SIGTERM then SIGKILL to stop (a frozen daemon is woken first, so it can exit).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.sshd import free_port


@dataclass
class LoopbackDaemon:
    workdir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    __test__ = False
    NAME = "daemon"   # the log file's name and the word in error messages

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.NAME}.log"

    def spawn(self, argv: Sequence[str], ready_path: str = "/-/ready", deadline_s: float = 20.0) -> None:
        """Start ``argv`` (its port from :meth:`choose_port`) and wait until ``ready_path`` answers 200."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        try:
            self._wait_ready(ready_path, deadline_s)
        except Exception:
            self.stop()
            raise

    def choose_port(self) -> int:
        self.port = self.port or free_port()
        return self.port

    def get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def _wait_ready(self, path: str, deadline_s: float) -> None:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.NAME} exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if self.get(path, 0.5)[0] == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{self.NAME} not ready after {deadline_s}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM and wait (same port and data directory if started again: a restart)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
