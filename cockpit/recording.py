"""The incident's evidence beside its journal: every step's output per host, and the panels' samples.

For a journal ``<session>.jsonl`` the folder ``<session>.rec/`` (mode 0700) holds:

- ``NN-<step>/<host>.cast``: one asciicast v2 file per step run and host (``NN`` counts the runs of
  that step in the incident: a step fired twice has ``01-<step>`` and ``02-<step>``). The header's ``timestamp`` is
  the step's start; each event is ``[seconds since then, "o", "line\\r\\n"]`` with the line as
  the host printed it (colours and other escape sequences kept: it is a terminal recording),
  secrets redacted by the journal's redactor. ``asciinema play`` / ``asciinema cat`` accept it.
- ``samples.jsonl``: what the panels drew, one line per poll of a signal
  (``{"ts", "signal", "values": {label: value}, "stale": reason, "age": seconds}``) and the
  history a panel was backfilled with (``"backfill": {label: [[ts, value], ...]}``), bounded by
  downsampling its older half when it grows over its cap. `cockpit replay` draws the panels from it.

Bounded: each host's file stops at ``max_host_bytes`` and the whole incident's recordings at
``max_incident_bytes``; the last event then says ``(truncated: …)``. A recording that cannot be
written (disk full) stops quietly for that host and says why in the journal's reference; it
never stops a step.

The journal refers to the recordings: ``step_start`` has ``recording`` (the run's folder,
relative to the journal's folder) and ``step_end`` has ``recordings`` (per host: ``host``,
``path``, ``bytes``, ``truncated``, ``error``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MAX_HOST_BYTES = 16 << 20         # one host's recording of one step run (~15 min at 200 lines/s)
MAX_INCIDENT_BYTES = 256 << 20    # every recording of the incident together
MAX_SAMPLES_BYTES = 8 << 20       # samples.jsonl before its older half is downsampled
MAX_LABELS = 200                  # labels of one signal kept per sample line
WIDTH, HEIGHT = 160, 40
TRUNCATION = "(truncated: {why})"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(name: str) -> str:
    """A file name for a step id or host name: unsafe characters as ``_`` (plus a short hash
    when anything was replaced, so two names never share a file)."""
    clean = _UNSAFE.sub("_", name)[:80].lstrip(".") or "_"
    if clean != name:
        clean += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return clean


def folder_for(journal: Path) -> Path:
    """The evidence folder of a journal file."""
    return journal.parent / f"{journal.stem}.rec"


def _open_new(path: Path, mode: int = 0o600) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)


class _HostCast:
    """One host's asciicast file of one step run."""

    def __init__(self, path: Path, started: float, title: str, mode: int = 0o600) -> None:
        self.path = path
        self.mode = mode
        self.started = started
        self.bytes = 0
        self.truncated = False
        self.error: str | None = None
        self._fd: int | None = None
        self._title = title

    def _write(self, raw: bytes) -> bool:
        try:
            if self._fd is None:
                self._fd = _open_new(self.path, self.mode)
                header = {"version": 2, "width": WIDTH, "height": HEIGHT, "timestamp": int(self.started),
                          "title": self._title, "env": {"TERM": "xterm-256color"}}
                raw = (json.dumps(header, ensure_ascii=False) + "\n").encode() + raw
            written = 0
            while written < len(raw):
                written += os.write(self._fd, raw[written:])
        except OSError as e:
            self.error = f"{e.strerror or e} ({self.path})"
            self.close()
            return False
        self.bytes += len(raw)
        return True

    def event(self, ts: float, text: str) -> bytes:
        t = round(max(0.0, ts - self.started), 6)
        return (json.dumps([t, "o", text], ensure_ascii=False) + "\n").encode()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class StepRecording:
    """The recordings of one step run: `write` each (already redacted) line as it comes."""

    def __init__(self, recorder: Recorder, folder: Path, rel: str, step_id: str, started: float) -> None:
        self._recorder = recorder
        self.folder = folder
        self.rel = rel
        self.step_id = step_id
        self.started = started
        self.hosts: dict[str, _HostCast] = {}

    def write(self, host: str, text: str, ts: float) -> None:
        cast = self.hosts.get(host)
        if cast is None:
            cast = self.hosts[host] = _HostCast(self.folder / f"{safe_name(host)}.cast", self.started,
                                                f"{self.step_id} on {host}", self._recorder.file_mode)
        if cast.truncated or cast.error:
            return
        raw = cast.event(ts, text + "\r\n")
        r = self._recorder
        why = None
        if cast.bytes + len(raw) > r.max_host_bytes:
            why = f"this host's recording reached its cap of {r.max_host_bytes} bytes"
        elif r.total + len(raw) > r.max_incident_bytes:
            why = f"the incident's recordings reached their cap of {r.max_incident_bytes} bytes"
        if why is not None:
            cast.truncated = True
            raw = cast.event(ts, "\r\n" + TRUNCATION.format(why=why) + "\r\n")
        before = cast.bytes
        if cast._write(raw):
            r.total += cast.bytes - before
        if cast.truncated:
            cast.close()

    def close(self) -> list[dict[str, Any]]:
        """Close every file; what the journal's ``step_end`` records about them."""
        out = []
        for host, cast in self.hosts.items():
            cast.close()
            out.append({"host": host, "path": f"{self.rel}/{cast.path.name}", "bytes": cast.bytes,
                        "truncated": cast.truncated, "error": cast.error})
        return out


class Recorder:
    """The evidence folder of one journal: step recordings and the samples file."""

    def __init__(self, folder: Path, *, max_host_bytes: int | None = None,
                 max_incident_bytes: int | None = None, max_samples_bytes: int | None = None,
                 redact: Callable[[Any], Any] | None = None, dir_mode: int = 0o700, file_mode: int = 0o600) -> None:
        """``dir_mode``/``file_mode``: 0700/0600 in a personal state directory; in a bastion-wide one,
        readable by its group (the observers of other users follow the running steps' output here)."""
        self.folder = folder
        self.dir_mode = dir_mode
        self.file_mode = file_mode
        self.max_host_bytes = MAX_HOST_BYTES if max_host_bytes is None else max_host_bytes
        self.max_incident_bytes = MAX_INCIDENT_BYTES if max_incident_bytes is None else max_incident_bytes
        max_samples_bytes = MAX_SAMPLES_BYTES if max_samples_bytes is None else max_samples_bytes
        self.error: str | None = None
        try:
            folder.mkdir(mode=dir_mode, exist_ok=True)
            # a resumed incident: what earlier cockpits recorded counts against the cap
            self.total = sum(p.stat().st_size for p in folder.glob("*/*.cast") if p.is_file())
        except OSError as e:
            self.error = f"{e.strerror or e} ({folder})"
            self.total = 0
        self.samples = SamplesFile(folder / "samples.jsonl", max_samples_bytes, redact, file_mode)

    @classmethod
    def beside(cls, journal: Path, **kw: Any) -> Recorder:
        return cls(folder_for(journal), **kw)

    def begin(self, step_id: str, started: float) -> StepRecording | None:
        """A folder for a new run of ``step_id`` (None when the folder cannot be made)."""
        if self.error is not None:
            return None
        for n in range(1, 10_000):
            name = f"{n:02d}-{safe_name(step_id)}"
            path = self.folder / name
            try:
                path.mkdir(mode=self.dir_mode)
            except FileExistsError:
                continue
            except OSError:
                return None
            return StepRecording(self, path, f"{self.folder.name}/{name}", step_id, started)
        return None


class SamplesFile:
    """``samples.jsonl``: every poll of every signal, bounded by downsampling its older half."""

    def __init__(self, path: Path, max_bytes: int, redact: Callable[[Any], Any] | None = None,
                 mode: int = 0o600) -> None:
        self.path = path
        self.mode = mode
        self.max_bytes = max_bytes
        self._redact = redact or (lambda v: v)
        self.error: str | None = None
        try:
            self.size = path.stat().st_size
        except OSError:
            self.size = 0

    def record(self, ts: float, signal: str, values: Mapping[str, float], stale: str | None = None,
               age: float | None = None) -> None:
        """One poll of ``signal``: its values, why it is stale (if it is), and the age of its oldest raw
        sample (prometheus), so a replay judges its freshness as the live screen did."""
        shown = {str(k)[:200]: (float(v) if math.isfinite(float(v)) else None)
                 for k, v in list(values.items())[:MAX_LABELS]}
        line: dict[str, Any] = {"ts": round(ts, 3), "signal": signal, "values": shown}
        if stale:
            line["stale"] = stale[:300]
        if age is not None and math.isfinite(age):
            line["age"] = round(age, 3)
        self._write(line)

    def _write(self, line: dict[str, Any]) -> None:
        raw = (json.dumps(self._redact(line), ensure_ascii=False) + "\n").encode()
        if self.error is not None:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, self.mode)
            try:
                os.write(fd, raw)
            finally:
                os.close(fd)
            self.size += len(raw)
            if self.size > self.max_bytes:
                self.downsample()
        except OSError as e:
            self.error = f"{e.strerror or e} ({self.path})"

    def backfill(self, ts: float, signal: str, series: Mapping[str, Any], points: int = 1000) -> None:
        """The history a panel was filled with before its first live sample (a Prometheus range query):
        ``{"ts", "signal", "values": {}, "backfill": {label: [[ts, value], ...]}}``, the newest ``points``
        of each of at most `MAX_LABELS` labels (non-finite values dropped)."""
        kept: dict[str, list[list[float]]] = {}
        for label, pts in list(series.items())[:MAX_LABELS]:
            kept[str(label)[:200]] = [[round(float(t), 3), float(v)] for t, v in list(pts)[-points:]
                                      if math.isfinite(float(v)) and math.isfinite(float(t))]
        self._write({"ts": round(ts, 3), "signal": signal, "values": {}, "backfill": kept})

    def downsample(self) -> None:
        """Keep the newer half at full resolution and every other line of each signal's older half;
        repeat until the file is under three quarters of its cap. Written whole, then renamed."""
        lines = self.path.read_bytes().splitlines(keepends=True)
        while lines and sum(map(len, lines)) > self.max_bytes * 3 // 4:
            half = len(lines) // 2
            if half == 0:
                lines = []
                break
            seen: dict[bytes, int] = {}
            kept = []
            for raw in lines[:half]:
                m = re.search(rb'"signal": "((?:[^"\\]|\\.)*)"', raw)
                key = m.group(1) if m else b""
                seen[key] = seen.get(key, 0) + 1
                if seen[key] % 2 == 1:
                    kept.append(raw)
            if len(kept) == half:      # nothing to drop by halving: drop the oldest instead
                kept = kept[half // 2 + 1:]
            lines = kept + lines[half:]
        tmp = self.path.with_suffix(".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = _open_new(tmp, self.mode)
        try:
            data = b"".join(lines)
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)
        tmp.replace(self.path)
        self.size = len(data)


def read_samples(path: Path, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """The sample lines of a samples file (damaged lines skipped; a missing file is no samples).

    ``problems`` (when given) receives what could not be read, worded: the file missing or
    unreadable, and how many lines were damaged (a cut last line: a crash mid-write, or a copy
    that was truncated)."""
    out: list[dict[str, Any]] = []
    damaged = 0
    try:
        f = path.open("rb")
    except OSError as e:
        if problems is not None:
            problems.append(f"{path.name}: {'missing' if isinstance(e, FileNotFoundError) else e.strerror or e}")
        return out
    with f:
        for raw in f:
            if len(raw) > 1 << 20:
                damaged += 1
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                damaged += 1
                continue
            if (isinstance(obj, dict) and isinstance(obj.get("ts"), int | float) and math.isfinite(obj["ts"])
                    and isinstance(obj.get("signal"), str) and isinstance(obj.get("values"), dict)):
                obj["values"] = {str(k): v for k, v in obj["values"].items()
                                 if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
                out.append(obj)
            else:
                damaged += 1
    if damaged and problems is not None:
        problems.append(f"{path.name}: {damaged} damaged line{'s' if damaged > 1 else ''} skipped "
                        "(cut or corrupted)")
    return out


def last_output_time(journal: Path, rel: str, started: float, tail: int = 64 << 10) -> float | None:
    """When the run recorded in ``rel`` (``step_start.recording``) last printed anything, on any host:
    its start + the offset of the last whole event of each cast (only the files' tails are read)."""
    folder = folder_for(journal)
    run = journal.parent / rel
    try:
        if not run.resolve().is_relative_to(folder.resolve()):
            return None
        casts = list(run.glob("*.cast"))
    except OSError:
        return None
    last: float | None = None
    for cast in casts:
        try:
            with cast.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - tail))
                data = f.read(tail)
        except OSError:
            continue
        for raw in reversed(data.split(b"\n")):
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, list) and event and isinstance(event[0], int | float) and math.isfinite(event[0]):
                t = started + float(event[0])
                last = t if last is None else max(last, t)
                break
    return last

