"""The driver lock: one driver per incident (profile name + environment), whoever starts it.

The lock is ``fcntl.flock`` on a file in the state directory (bastion-wide when the
shared directory is in use: every Unix user of the group contends for the same
file), held for the driver's lifetime: the kernel releases it when the process
dies, however it dies, so a crash never leaves a lock nobody can take. The file
also holds the holder's ``{user, uid, host, pid, started}`` as JSON, for display
("locked by alice@bastion-1 (pid 4242) since 10:02:03"), plus where observers
follow it: its open ``journal`` and its sample ``feed``. Holder info found in a
file whose flock is free belongs to a driver that died: the next driver takes it
over and says so (`DriverLock.stale`).

A handoff writes ``handoff_uid``/``handoff_until`` before the driver lets go: until
then only that user may take the free lock, so nobody slips in between.

The file is opened with ``O_NOFOLLOW`` and checked on its descriptor
(`cockpit.state.StateDir.open`): a planted symlink or foreign file is refused,
never truncated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cockpit.profile.model import Profile
from cockpit.state import StateDir, profile_key, state_for, user_name, whoami


@dataclass(frozen=True)
class LockHolder:
    user: str
    host: str
    pid: int
    started: float
    uid: int = -1
    journal: str | None = None         # the journal the driver writes (observers follow it)
    feed: str | None = None            # the driver's sample feed (observers draw from it)
    handoff_uid: int | None = None     # a handoff in progress: only this user may take the lock
    handoff_until: float | None = None

    def describe(self) -> str:
        """``alice@bastion-1 (pid 4242) since 10:02:03`` (local time of the holder's start)."""
        try:
            since = dt.datetime.fromtimestamp(self.started).strftime("%H:%M:%S")
        except (ValueError, OverflowError, OSError):
            since = "?"
        return f"{self.user}@{self.host} (pid {self.pid}) since {since}"

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host}"

    def alive(self) -> bool:
        """Whether the pid still runs (meaningful on this machine only)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def reserved_for_other(self, now: float) -> bool:
        """A handoff to another user is in progress (their turn to take the free lock)."""
        return (self.handoff_uid is not None and self.handoff_uid != os.geteuid()
                and self.handoff_until is not None and now < self.handoff_until)


class LockHeld(Exception):
    """Another driver holds the lock (or it is being handed over to someone else)."""

    def __init__(self, holder: LockHolder | None, reason: str | None = None) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another cockpit (holder unknown)"
        super().__init__(reason or f"locked by {who}")


def lock_path(profile: Profile, state: StateDir | None = None) -> Path:
    return (state or state_for(profile)).locks / f"{profile_key(profile)}.lock"


def _parse_holder(raw: bytes) -> LockHolder | None:
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            return None
        handoff = data.get("handoff_uid")
        until = data.get("handoff_until")
        return LockHolder(
            str(data["user"]), str(data["host"]), int(data["pid"]), float(data["started"]),
            uid=int(data.get("uid", -1)),
            journal=str(data["journal"]) if isinstance(data.get("journal"), str) else None,
            feed=str(data["feed"]) if isinstance(data.get("feed"), str) else None,
            handoff_uid=int(handoff) if isinstance(handoff, int) else None,
            handoff_until=float(until) if isinstance(until, int | float) else None,
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, OverflowError):
        return None


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    total = 0
    while total < 65536 and (chunk := os.read(fd, 4096)):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _holder_of(fd: int) -> LockHolder | None:
    """Parse the holder info; a reader racing a rewrite retries once."""
    holder = _parse_holder(_read_fd(fd))
    if holder is None:
        time.sleep(0.005)
        holder = _parse_holder(_read_fd(fd))
    return holder


@dataclass(frozen=True)
class LockState:
    """What a look at the lock file says: who holds it (None: free) and what the file says."""

    holder: LockHolder | None
    recorded: LockHolder | None   # the info in the file (a dead driver's, when free)


def inspect(path: Path, state: StateDir | None = None) -> LockState:
    """Look at the lock at ``path`` without taking it."""
    try:
        fd = (state.open(path, os.O_RDONLY) if state is not None
              else os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC))
    except FileNotFoundError:
        return LockState(None, None)
    try:
        recorded = _holder_of(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            return LockState(recorded or LockHolder("?", "?", 0, 0.0), recorded)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return LockState(None, recorded)
    finally:
        os.close(fd)


def read_holder(path: Path, state: StateDir | None = None) -> LockHolder | None:
    """Who holds the lock at ``path`` now, or None when nobody does (never takes the lock)."""
    return inspect(path, state).holder


class DriverLock:
    """The lock of one incident. `acquire` raises `LockHeld`; `release` is idempotent."""

    def __init__(self, path: Path, state: StateDir | None = None) -> None:
        self.path = path
        self.state = state
        self._fd: int | None = None
        self.holder: LockHolder | None = None
        self.stale: LockHolder | None = None   # a dead driver's lock we took over
        self.handed_from: LockHolder | None = None   # the driver that handed over to us

    @classmethod
    def for_profile(cls, profile: Profile, state: StateDir | None = None) -> DriverLock:
        state = state or state_for(profile)
        return cls(lock_path(profile, state), state)

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def scope(self) -> str:
        """``bastion-wide`` or ``this user only``."""
        return self.state.scope if self.state is not None else "this user only"

    def _open(self) -> int:
        if self.state is not None:
            return self.state.open(self.path, os.O_RDWR | os.O_CREAT)
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)

    def acquire(self, now: float | None = None) -> LockHolder:
        if self._fd is not None:
            assert self.holder is not None
            return self.holder
        now = time.time() if now is None else now
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _holder_of(fd)
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockHeld(holder) from None
            raise
        previous = _holder_of(fd)
        if previous is not None and previous.reserved_for_other(now):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise LockHeld(previous, f"being handed over by {previous.who} to "
                                     f"{user_name(previous.handoff_uid or -1)}: only they may take it now")
        user, host = whoami()
        me = LockHolder(user, host, os.getpid(), now, uid=os.geteuid())
        handed = previous is not None and previous.handoff_uid == os.geteuid() and previous.pid != me.pid
        self.handed_from = previous if handed else None
        self.stale = previous if previous is not None and previous.pid != me.pid and not handed else None
        self._fd, self.holder = fd, me
        self._write(me)
        return me

    def _write(self, holder: LockHolder) -> None:
        """Write the holder info (new bytes first, then cut the rest: never an empty file mid-way)."""
        assert self._fd is not None
        raw = json.dumps(asdict(holder)).encode()
        os.pwrite(self._fd, raw, 0)
        os.ftruncate(self._fd, len(raw))
        os.fsync(self._fd)

    def update(self, **fields: Any) -> LockHolder:
        """Change what the holder info says (``journal``, ``feed``, a handoff); we must hold the lock."""
        if self._fd is None or self.holder is None:
            raise RuntimeError("update() needs the lock held")
        self.holder = replace(self.holder, **fields)
        self._write(self.holder)
        return self.holder

    def release(self, keep_info: bool = False) -> None:
        """Drop the flock. Empties the holder info unless ``keep_info`` (a handoff keeps its reservation).

        The file stays: unlinking races a new holder.
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if not keep_info:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def current_holder(self) -> LockHolder | None:
        """Ourselves if we hold it, else whoever does (None: free)."""
        return self.holder if self.held else read_holder(self.path, self.state)
