"""The driver lock: one driver per profile on a machine.

The lock is ``fcntl.flock`` on a file in the state directory, held for the
driver's lifetime: the kernel releases it when the process dies, however it
dies, so a crash never leaves a lock nobody can take. The file also holds the
holder's ``{user, host, pid, started}`` as JSON, for display ("locked by
alice@bastion-1 (pid 4242) since 10:02:03"). Holder info found in a file whose
flock is free belongs to a driver that died: the next driver takes it over and
says so (`DriverLock.stale`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cockpit.profile.model import Profile
from cockpit.state import locks_dir, profile_key, whoami


@dataclass(frozen=True)
class LockHolder:
    user: str
    host: str
    pid: int
    started: float

    def describe(self) -> str:
        """``alice@bastion-1 (pid 4242) since 10:02:03`` (local time of the holder's start)."""
        since = dt.datetime.fromtimestamp(self.started).strftime("%H:%M:%S")
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


class LockHeld(Exception):
    """Another driver holds the lock."""

    def __init__(self, holder: LockHolder | None) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another cockpit (holder unknown)"
        super().__init__(f"locked by {who}")


def lock_path(profile: Profile) -> Path:
    return locks_dir() / f"{profile_key(profile)}.lock"


def _parse_holder(raw: bytes) -> LockHolder | None:
    try:
        data = json.loads(raw.decode("utf-8"))
        return LockHolder(str(data["user"]), str(data["host"]), int(data["pid"]), float(data["started"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def read_holder(path: Path) -> LockHolder | None:
    """Who holds the lock at ``path`` now, or None when nobody does (never takes the lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            return _parse_holder(_read_fd(fd)) or LockHolder("?", "?", 0, 0.0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class DriverLock:
    """The lock of one profile. `acquire` raises `LockHeld`; `release` is idempotent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.holder: LockHolder | None = None
        self.stale: LockHolder | None = None   # a dead driver's lock we took over

    @classmethod
    def for_profile(cls, profile: Profile) -> DriverLock:
        return cls(lock_path(profile))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, now: float | None = None) -> LockHolder:
        if self._fd is not None:
            assert self.holder is not None
            return self.holder
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _parse_holder(_read_fd(fd))
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise LockHeld(holder) from None
            raise
        previous = _parse_holder(_read_fd(fd))
        user, host = whoami()
        me = LockHolder(user, host, os.getpid(), time.time() if now is None else now)
        self.stale = previous if previous is not None and previous.pid != me.pid else None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(me)).encode(), 0)
        os.fsync(fd)
        self._fd, self.holder = fd, me
        return me

    def release(self) -> None:
        """Empty the holder info, then drop the flock (the file stays: unlinking races a new holder)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def current_holder(self) -> LockHolder | None:
        """Ourselves if we hold it, else whoever does (None: free)."""
        return self.holder if self.held else read_holder(self.path)
