"""The audit journal: the ONLY writer, and a tolerant reader.

One JSONL file per rollback session in ``$XDG_STATE_HOME/cockpit/journals/``,
named ``<profile-key>-<UTC start>.jsonl``. Every entry has ``ts`` (epoch
seconds), ``type`` and ``session`` (the file's stem). `Journal.append` writes
the line, then fsyncs, and returns only then: whatever the caller reports
afterwards ("started", "done") is already on disk. Every string of every
entry passes through the profile's redactor first, so no secret ever lands
in the file.

A session is *open* (resumed by the next driver of the profile, headless
``cockpit run`` included) when its rollback has started and not ended; when
its last attachment (a ``session_start`` or ``session_resume``) has no
``session_end`` after it (the cockpit that wrote it died); or when something
was done in it (a step, a manual tick, a rollback) less than
``RESUME_WINDOW`` (12 h) ago. The last rule keeps one incident in one journal
across the prepare phase run step by step from the shell, and across the
post-rollback steps after ``rollback_end``. A session with nothing done,
quit cleanly, or idle for longer than the window, is closed: the next driver
starts a new journal. A session closed with ``cockpit abandon`` (a
``session_abandoned`` entry) is never reopened, whatever it says.

Writes that fail. `Journal.append` cuts the file back to its last whole entry
(a partial write never glues the next entry onto a fragment), keeps the entry
in memory (bounded, `PENDING_MAX`) and raises `JournalWriteError`; from then
on the journal is ``broken`` and every append first retries: the first write
that succeeds puts a ``journal_recovered`` entry, then the held entries (their
own times), then the new one. An entry written with ``hold=False`` (what
precedes an action: ``step_start``, ``manual_tick``, ``rollback_start``) is not
held: the caller does not act.

Reads are bounded and checked. A line longer than `MAX_ENTRY_BYTES` is skipped
without being held in memory; each entry is checked against its kind
(`cockpit.entries`); what is skipped is reported as ``file:line: why``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from cockpit import __version__, secrets
from cockpit.entries import ACTIVITY, ATTACH, ENTRY_TYPES, EntryType, validate
from cockpit.profile.model import Profile
from cockpit.state import StateDir, StateError, profile_key, state_for

__all__ = ["ENTRY_TYPES", "EntryType", "Journal", "JournalWriteError", "load_journal", "read_journal"]

MAX_ENTRY_BYTES = 16 << 20     # a longer line is skipped on read, unread
MAX_WRITE_BYTES = 8 << 20      # an entry larger than this is written with its long strings cut
PENDING_MAX = 10_000           # entries held in memory while the journal cannot be written
CLOCK_SKEW = 300.0             # an entry this far in the future does not count as recent activity


class JournalWriteError(OSError):
    """A journal write failed: the file was cut back to its last whole entry; the journal is broken."""


class JournalWarning(UserWarning):
    """A journal read with damage (a line cut by a crash, or garbage)."""


class Redactor:
    """Replaces every known secret value in strings, recursively through dicts and lists."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values = [v for v in values if v]

    def __call__(self, text: str) -> str:
        return secrets.redact(text, self.values)

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {str(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.deep(v) for v in value]
        return value


def _strings(obj: Any) -> Iterator[tuple[str, bool]]:
    """Every string in a profile object, with whether its field is marked ``secret``."""
    if isinstance(obj, str):
        yield obj, False
    elif is_dataclass(obj) and not isinstance(obj, type):
        for f in fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, str):
                yield value, bool(f.metadata.get("secret"))
            else:
                yield from _strings(value)
    elif isinstance(obj, dict) or hasattr(obj, "items"):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _strings(v)


def redactor_for(profile: Profile, environ: dict[str, str] | None = None) -> Redactor:
    """A redactor of every ``${env:…}`` value the profile references, and of literal secret fields."""
    texts = list(_strings(profile))
    values = secrets.secret_values((t for t, _ in texts), environ)
    values += [t for t, secret in texts if secret and t and not secrets.env_refs(t) and len(t) >= 4]
    return Redactor(values)


def is_entry(obj: object) -> bool:
    """A valid entry of a known kind (see `cockpit.entries.validate` for why not)."""
    return validate(obj) is None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_line(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """The entry on one journal line, or None and why not."""
    try:
        obj = json.loads(line, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        return None, "not a JSON entry"
    except RecursionError:
        return None, "nested too deep to be a journal entry"
    problem = validate(obj)
    if problem is not None:
        return None, f"not a valid journal entry ({problem})"
    return obj, ""


def _lines(f: Any, limit: int) -> Iterator[tuple[int, bytes | None, int, bool]]:
    """``(line number, line or None when longer than limit, length, ended by a newline)``; bounded memory."""
    parts: list[bytes] = []
    n, size, over = 1, 0, False
    while chunk := f.read(1 << 16):
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            size += len(piece)
            if size > limit:
                over, parts = True, []
            elif not over:
                parts.append(piece)
            if nl < 0:
                break
            yield n, None if over else b"".join(parts), size, True
            n, parts, size, over = n + 1, [], 0, False
            start = nl + 1
    if size:
        yield n, None if over else b"".join(parts), size, False


@dataclass(frozen=True)
class JournalContents:
    entries: list[dict[str, Any]]
    problems: list[str]


def load_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Every whole entry of the journal, and what was skipped (never raises on damage, only on I/O)."""
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    with Path(path).open("rb") as f:
        for n, line, size, whole in _lines(f, MAX_ENTRY_BYTES):
            if not whole:
                if line is None or line.strip():
                    problems.append(
                        f"{path}:{n}: the last line is cut ({size} bytes without a newline, "
                        "a crash mid-write?); read up to the last whole entry")
                break
            if line is None:
                problems.append(f"{path}:{n}: a line of {size} bytes, over the {MAX_ENTRY_BYTES >> 20} MiB "
                                "an entry may have; skipped")
                continue
            if not line.strip():
                continue
            entry, why = parse_line(line)
            if entry is None:
                problems.append(f"{path}:{n}: {why}; skipped")
                continue
            entries.append(entry)
    return JournalContents(entries, problems)


def read_journal(
    path: str | os.PathLike[str], on_warning: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Entries up to the last whole line; each problem goes to ``on_warning`` (default: a JournalWarning)."""
    contents = load_journal(path)
    for p in contents.problems:
        if on_warning is None:
            warnings.warn(p, JournalWarning, stacklevel=2)
        else:
            on_warning(p)
    return contents.entries


RESUME_WINDOW = 12 * 3600.0


def is_open(entries: list[dict[str, Any]], now: float | None = None) -> bool:
    """The open-session rule (see the module doc); ``now`` enables the recent-activity rule."""
    rollback_open = False
    attached = False
    active = False
    for e in entries:
        t = e.get("type")
        active = active or t in ACTIVITY
        if t == "session_abandoned":
            return False
        if t == "rollback_start":
            rollback_open = True
        elif t == "rollback_end":
            rollback_open = False
        elif t in ATTACH:
            attached = True
        elif t == "session_end":
            attached = False
    if rollback_open or attached:
        return True
    if now is None or not active or not entries:
        return False
    last = entries[-1].get("ts")
    # a last entry dated in the future is damage, not activity: it must not hold the session open
    return isinstance(last, int | float) and -CLOCK_SKEW < now - last < RESUME_WINDOW


def journals_of(profile: Profile, state: StateDir | None = None) -> list[Path]:
    """This profile's journals, oldest first (the names sort by UTC start time)."""
    folder = (state or state_for(profile)).journals
    return sorted(folder.glob(f"{profile_key(profile)}-*.jsonl"))


def find_open_session(profile: Profile, now: float | None = None, state: StateDir | None = None) -> Path | None:
    """The newest open journal of this profile, or None (``now`` defaults to the wall clock).

    A journal that is a symlink or a file planted by someone else is refused
    (`cockpit.state.StateError`), never resumed.
    """
    now = _time() if now is None else now
    state = state or state_for(profile)
    for path in reversed(journals_of(profile, state)):
        try:
            state.check_path(path)
            contents = load_journal(path)
        except StateError:
            raise
        except OSError:
            continue
        if contents.entries and is_open(contents.entries, now):
            return path
    return None


def _utc_stamp(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y%m%dT%H%M%SZ")


class Journal:
    """An open journal file. Create with `Journal.create` or `Journal.resume`; `append` is durable."""

    def __init__(self, path: Path, fd: int, redactor: Redactor, now: Callable[[], float]) -> None:
        self.path = path
        self.session = path.stem
        self._fd: int | None = fd
        self.redact = redactor
        self._now = now
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._good_size = os.fstat(fd).st_size   # the file up to its last whole entry
        self.broken: str | None = None           # why the last write failed (None: writing works)
        self.broken_since: float | None = None
        self._pending: list[dict[str, Any]] = []  # entries held while broken, in order
        self.lost = 0                            # held entries dropped (over PENDING_MAX)

    @classmethod
    def create(
        cls, profile: Profile, redactor: Redactor | None = None, now: Callable[[], float] | None = None
    ) -> Journal:
        """A new journal file for ``profile`` (O_EXCL: a name is never reused)."""
        clock = now or _time
        base = f"{profile_key(profile)}-{_utc_stamp(clock())}"
        state = state_for(profile)
        folder = state.journals
        for n in range(1, 1000):
            path = folder / (f"{base}.jsonl" if n == 1 else f"{base}-{n}.jsonl")
            try:
                fd = state.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                continue
            _fsync_dir(folder)
            return cls(path, fd, redactor or redactor_for(profile), clock)
        raise FileExistsError(f"{folder}: cannot find a free journal name for {base}")

    @classmethod
    def resume(
        cls, path: Path, profile: Profile, redactor: Redactor | None = None,
        now: Callable[[], float] | None = None, on_warning: Callable[[str], None] | None = None,
    ) -> tuple[Journal, list[dict[str, Any]]]:
        """Reopen ``path`` for appending; returns the journal and its entries so far.

        A last line cut by a crash is dropped from the file (it was never
        acknowledged) and the repair is journalled. Damaged lines are skipped and
        told to ``on_warning`` (``file:line: why``).
        """
        state = state_for(profile)
        fd = state.open(path, os.O_WRONLY | os.O_APPEND)   # O_NOFOLLOW, owner and mode checked
        try:
            size = os.fstat(fd).st_size
            cut = _cut_tail_length(path, size)
            if cut:
                os.ftruncate(fd, size - cut)
                os.fsync(fd)
            contents = load_journal(path)
        except BaseException:
            os.close(fd)
            raise
        for problem in contents.problems:
            if on_warning is not None:
                on_warning(problem)
        entries = contents.entries
        journal = cls(path, fd, redactor or redactor_for(profile), now or _time)
        if entries:
            journal.session = str(entries[0].get("session", path.stem))
        if cut:
            with contextlib.suppress(JournalWriteError):    # held: the journal says it is broken
                journal.append("journal_repaired", dropped_bytes=cut,
                               reason="the last line was cut by a crash mid-write; dropped")
        return journal, entries

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def pending(self) -> int:
        """Entries held in memory, not yet on disk."""
        return len(self._pending)

    def append(self, type_: EntryType, *, hold: bool = True, **data: Any) -> dict[str, Any]:
        """Write one entry, fsync, then tell listeners. Returns the entry as written (redacted).

        Raises `JournalWriteError` when it cannot be written: the file keeps only whole
        entries, the journal is ``broken``, and the entry is held for the next successful
        write unless ``hold`` is False (the caller is about to act on it: it must not).
        """
        if self._fd is None:
            raise ValueError(f"journal {self.path} is closed")
        if type_ not in ENTRY_TYPES:   # the readers would skip it: declare it first
            raise ValueError(f"undeclared journal entry kind {type_!r}: declare it in cockpit/entries.py")
        entry: dict[str, Any] = {"ts": data.pop("ts", None) or self._now(), "type": type_,
                                 "session": self.session}
        entry.update(self.redact.deep(data))
        try:
            self._commit([entry])
        except JournalWriteError:
            if hold:
                self._hold(entry)
            raise
        return entry

    def retry(self) -> bool:
        """A broken journal: try to write what is held now (True when the journal works)."""
        if self._fd is None:
            return False
        if self.broken is None:
            return True
        try:
            self._commit([])
        except JournalWriteError:
            return False
        return True

    def _commit(self, new: list[dict[str, Any]]) -> None:
        """Write ``new`` (after the held entries, when broken), then tell the listeners."""
        batch = list(new)
        if self.broken is not None:
            recovered = {"ts": self._now(), "type": "journal_recovered", "session": self.session,
                         "since": self.broken_since, "reason": self.broken, "late": len(self._pending),
                         "lost": self.lost}
            batch = [recovered, *self._pending, *new]
        try:
            self._write(batch)
        except OSError as exc:
            if self.broken is None:
                self.broken_since = self._now()
            self.broken = f"{exc.strerror or exc} ({self.path.parent})"
            raise JournalWriteError(exc.errno or 0, f"journal cannot be written: {self.broken}") from exc
        self._pending.clear()
        self.broken = self.broken_since = None
        self.lost = 0
        for written in batch:
            for listener in list(self.listeners):
                listener(written)

    def _hold(self, entry: dict[str, Any]) -> None:
        self._pending.append(entry)
        if len(self._pending) > PENDING_MAX:
            del self._pending[0]
            self.lost += 1

    def _write(self, batch: list[dict[str, Any]]) -> None:
        """Write whole lines or nothing: on failure the file is cut back to its last whole entry."""
        assert self._fd is not None
        raw = b"".join(_encode(e) for e in batch)
        fd = self._fd
        try:
            if os.fstat(fd).st_size != self._good_size:   # a cut back that failed earlier
                os.ftruncate(fd, self._good_size)
            written = 0
            while written < len(raw):
                written += os.write(fd, raw[written:])
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._good_size)
                os.fsync(fd)
            raise
        self._good_size += len(raw)

    def close(self) -> None:
        """Close the file; entries still held (see `pending`) are lost: say so before closing."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _encode(entry: dict[str, Any]) -> bytes:
    raw = (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()
    if len(raw) <= MAX_WRITE_BYTES:
        return raw
    # an entry too large for the readers: keep its shape, cut its long strings
    cut = _cut_strings(entry, 512)
    cut["truncated"] = f"entry of {len(raw)} bytes, over {MAX_WRITE_BYTES >> 20} MiB: long strings cut"
    return (json.dumps(cut, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode()


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + " … (truncated)"
    if isinstance(value, dict):
        return {k: _cut_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(v, limit) for v in value]
    return value


def _cut_tail_length(path: Path, size: int) -> int:
    """Bytes after the last newline of the file (a line cut by a crash), read from its end only."""
    with path.open("rb") as f:
        pos = size
        while pos > 0:
            start = max(0, pos - (1 << 16))
            f.seek(start)
            nl = f.read(pos - start).rfind(b"\n")
            if nl >= 0:
                return size - (start + nl + 1)
            pos = start
    return size


def session_start_fields(profile: Profile, mode: str, user: str, host: str) -> dict[str, Any]:
    """What a ``session_start``/``session_resume`` records about who and what."""
    return {
        "user": user, "host": host, "pid": os.getpid(), "mode": mode, "version": __version__,
        "profile": profile.cockpit.name, "profile_path": profile.path, "profile_sha256": profile.sha256,
        "profile_key": profile_key(profile), "environment": profile.cockpit.environment,
        "rto_budget": profile.cockpit.rto,
    }


def _time() -> float:
    import time

    return time.time()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
