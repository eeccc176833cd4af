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
starts a new journal.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from cockpit import __version__, secrets
from cockpit.profile.model import Profile
from cockpit.state import StateDir, StateError, profile_key, state_for

ENTRY_TYPES = (
    "session_start", "session_resume", "session_end", "rollback_start", "rollback_end",
    "step_start", "step_output", "step_end", "guard_refused", "guard_override",
    "check_transition", "manual_tick", "connection", "journal_repaired",
)


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
    """A dict with a string ``type`` and a numeric ``ts``."""
    if not isinstance(obj, dict):
        return False
    ts = obj.get("ts")
    return isinstance(obj.get("type"), str) and isinstance(ts, int | float) and not isinstance(ts, bool)


@dataclass(frozen=True)
class JournalContents:
    entries: list[dict[str, Any]]
    problems: list[str]


def load_journal(path: str | os.PathLike[str]) -> JournalContents:
    """Every whole entry of the journal, and what was skipped (never raises on damage, only on I/O)."""
    data = Path(path).read_bytes()
    problems: list[str] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail.strip():
        problems.append(
            f"{path}: the last line is cut ({len(tail)} bytes without a newline, "
            "a crash mid-write?); read up to the last whole entry"
        )
    entries: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            problems.append(f"{path}:{n}: not a JSON entry; skipped")
            continue
        if not is_entry(entry):
            problems.append(f"{path}:{n}: not a journal entry (needs a type and a numeric ts); skipped")
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
_ACTIVITY = frozenset({"rollback_start", "rollback_end", "step_end", "manual_tick"})


def is_open(entries: list[dict[str, Any]], now: float | None = None) -> bool:
    """The open-session rule (see the module doc); ``now`` enables the recent-activity rule."""
    rollback_open = False
    attached = False
    active = False
    for e in entries:
        t = e.get("type")
        active = active or t in _ACTIVITY
        if t == "rollback_start":
            rollback_open = True
        elif t == "rollback_end":
            rollback_open = False
        elif t in ("session_start", "session_resume"):
            attached = True
        elif t == "session_end":
            attached = False
    if rollback_open or attached:
        return True
    if now is None or not active or not entries:
        return False
    last = entries[-1].get("ts")
    return isinstance(last, int | float) and now - last < RESUME_WINDOW


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
        now: Callable[[], float] | None = None,
    ) -> tuple[Journal, list[dict[str, Any]]]:
        """Reopen ``path`` for appending; returns the journal and its entries so far.

        A last line cut by a crash is dropped from the file (it was never
        acknowledged) and the repair is journalled.
        """
        state = state_for(profile)
        fd = state.open(path, os.O_RDWR | os.O_APPEND)   # O_NOFOLLOW, owner and mode checked
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
            cut = len(data) - (data.rfind(b"\n") + 1)
            if cut:
                os.ftruncate(fd, len(data) - cut)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        entries = load_journal(path).entries
        journal = cls(path, fd, redactor or redactor_for(profile), now or _time)
        if entries:
            journal.session = str(entries[0].get("session", path.stem))
        if cut:
            journal.append("journal_repaired", dropped_bytes=cut,
                           reason="the last line was cut by a crash mid-write; dropped")
        return journal, entries

    @property
    def closed(self) -> bool:
        return self._fd is None

    def append(self, type_: str, **data: Any) -> dict[str, Any]:
        """Write one entry, fsync, then tell listeners. Returns the entry as written (redacted)."""
        if self._fd is None:
            raise ValueError(f"journal {self.path} is closed")
        entry: dict[str, Any] = {"ts": data.pop("ts", None) or self._now(), "type": type_,
                                 "session": self.session}
        entry.update(self.redact.deep(data))
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        raw = line.encode("utf-8")
        written = 0
        while written < len(raw):
            written += os.write(self._fd, raw[written:])
        os.fsync(self._fd)
        for listener in list(self.listeners):
            listener(entry)
        return entry

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


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
