"""Real Unix users sharing one bastion-wide state directory, and a profile they can all read.

Session-scoped: three users (``ckmua``, ``ckmub``, ``ckmuc``) in group ``ckmugrp``, removed at
the end. Each test gets its own shared state directory made by the real
``cockpit setup-bastion`` and its own profile (local steps only: the lock, journal, feed,
approval and handoff logic is the same whatever a step runs).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.poll import wait_until
from tests.support.users import TestUsers, readable_tmpdir, unix_users

REPO = Path(__file__).resolve().parent.parent.parent

STEPS = """
[[step]]
id = "prepare"
title = "Prepare (local)"
phase = "prepare"
kind = "local"
command = "echo prepared by $(id -un)"
confirm = "none"

[[step]]
id = "start"
title = "Start the rollback"
phase = "rollback"
kind = "local"
command = "echo started"
confirm = "none"
starts_rollback = true

[[step]]
id = "slow"
title = "Long step"
phase = "rollback"
kind = "local"
confirm = "none"
timeout = "120s"
command = "echo slow-begins; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo tick-$i; sleep 0.5; done"

[[step]]
id = "hold"
title = "Holds the lock (a long step)"
phase = "prepare"
kind = "local"
confirm = "none"
timeout = "600s"
command = "echo holding; sleep 300"

[[step]]
id = "migrate"
title = "Roll back the contract migration"
phase = "rollback"
kind = "local"
confirm = "type"
approve = true
command = "echo migrating {target} && touch {marks}/migrated"

[[step]]
id = "finish"
title = "Finish"
phase = "validate"
kind = "local"
command = "echo done"
confirm = "none"
ends_rollback = true
"""


@dataclass
class Bastion:
    users: TestUsers
    state: Path
    profile: Path
    marks: Path

    @property
    def env(self) -> dict[str, str]:
        return {"COCKPIT_STATE_DIR": str(self.state)}

    def run(self, user: str, *args: str, timeout: float = 60, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.users.run(user, *args, env={**self.env, **(env or {})}, timeout=timeout, stdin=stdin)

    def popen(self, user: str, *args: str, env: dict[str, str] | None = None,
              stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
        return self.users.popen(user, *args, env={**self.env, **(env or {})}, stdin=stdin)


@pytest.fixture(scope="session")
def users() -> Iterator[TestUsers]:
    with unix_users("ckmu", 3) as u:
        yield u


def profile_text(marks: Path, *, name: str = "bastion-test", environment: str = "drill",
                 extra: str = "", steps: str = STEPS) -> str:
    return f"""
[cockpit]
name = "{name}"
environment = "{environment}"
rto = "15m"
refresh = "1s"
approval_timeout = "60s"

[vars]
marks = "{marks}"
target = "console-1"

{extra}
{steps}
"""


@contextlib.contextmanager
def make_bastion(users: TestUsers, prefix: str = "ckmu-") -> Iterator[Bastion]:
    """A shared state directory made by the real ``cockpit setup-bastion`` for ``users``, and a profile;
    every process of theirs killed and the directory removed at the end."""
    root = readable_tmpdir(prefix)
    state = root / "state"
    r = subprocess.run([sys.executable, "-m", "cockpit", "setup-bastion", "--group", users.group, "--dir",
                        str(state), *[a for n in users.names for a in ("--member", n)]],
                       capture_output=True, text=True, cwd=REPO, check=False)
    assert r.returncode == 0, r.stderr
    marks = root / "marks"
    marks.mkdir()
    marks.chmod(0o777)
    profile = root / "profile.toml"
    profile.write_text(profile_text(marks))
    profile.chmod(0o644)
    try:
        yield Bastion(users, state, profile, marks)
    finally:
        for name in users.names:
            subprocess.run(["pkill", "-KILL", "-u", name], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def bastion(users: TestUsers) -> Iterator[Bastion]:
    with make_bastion(users) as made:
        yield made


class Lines:
    """A process printing JSON lines (``cockpit watch --json``, the agent), read by a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import threading

        self.proc = proc
        self.events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"kind": "garbage", "text": line})

    def find(self, pred: Callable[[dict[str, Any]], object], timeout: float = 20.0,
             what: str = "event", after: int = 0) -> dict[str, Any]:
        found = wait_until(lambda: next((e for e in list(self.events)[after:] if pred(e)), None), timeout, what)
        return found  # type: ignore[return-value]

    def send(self, **cmd: Any) -> int:
        """Send a command (agent); returns the number of events so far (for ``find(after=...)``)."""
        assert self.proc.stdin is not None
        n = len(self.events)
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return n

    def close(self) -> str:
        import os
        import signal

        if self.proc.poll() is None:
            try:
                for pid in children(self.proc.pid) or [self.proc.pid]:   # the program, not runuser
                    os.kill(pid, signal.SIGTERM)
                self.proc.wait(10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.stderr.read() if self.proc.stderr else ""


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (runuser's child is the program it runs)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


AGENT = str(Path(__file__).with_name("agent.py"))


def agent(bastion: Bastion, user: str, *args: str, profile: Path | None = None) -> Lines:
    proc = bastion.popen(user, "--script", AGENT, "--profile", str(profile or bastion.profile), *args,
                         stdin=subprocess.PIPE)
    return Lines(proc)


