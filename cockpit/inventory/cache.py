"""A per-user cache of ``ansible-inventory --list``'s answer, so a profile loads in milliseconds.

``ansible-inventory`` starts Ansible (about 1.3 s here) on every profile load. Its answer
depends on the inventory files, so it is kept under ``$XDG_CACHE_HOME/cockpit/inventory/``
(default ``~/.cache``), keyed by a fingerprint of everything it read:

- every inventory file (a directory: every file under it), and the ``group_vars/`` and
  ``host_vars/`` beside each inventory file: path, size, mtime and sha256 of the bytes;
- the ``ansible-inventory`` command (path, size, mtime), ``ansible.cfg`` in the working
  directory and ``~/.ansible.cfg``, and every ``ANSIBLE_*`` environment variable.

Any change gives another fingerprint: the cache is not used and is replaced. A dynamic
inventory (an executable file: a script; a YAML ``plugin:`` file: a cloud API) is never cached,
since its answer changes without its file changing. The cache file is read only when it is
a regular file (no symlink) owned by this user and writable by nobody else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
_PLUGIN = re.compile(rb"^plugin\s*:", re.MULTILINE)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cockpit" / "inventory"


@dataclass(frozen=True)
class Fingerprint:
    """What the answer depends on (``value``), or why it cannot be cached (``uncacheable``)."""

    value: dict[str, Any] | None
    uncacheable: str | None = None


def _file_entry(path: Path) -> list[Any]:
    st = path.stat()
    data = path.read_bytes()
    return [str(path), st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()]


def _files_of(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file())
    beside = [source.parent / "group_vars", source.parent / "host_vars"]
    return [source, *sorted(p for d in beside if d.is_dir() for p in d.rglob("*") if p.is_file())]


def fingerprint(sources: list[str], tool: str) -> Fingerprint:
    files: list[list[Any]] = []
    try:
        for source in sources:
            for path in _files_of(Path(source)):
                mode = path.stat().st_mode
                if path == Path(source) or Path(source).is_dir():
                    if mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
                        return Fingerprint(None, f"{path} is executable (a dynamic inventory script)")
                    with path.open("rb") as f:
                        head = f.read(MAX_BYTES)
                    if path.suffix in (".yml", ".yaml") and _PLUGIN.search(head):
                        return Fingerprint(None, f"{path} is an inventory plugin (its answer is not in the file)")
                files.append(_file_entry(path))
        tool_st = Path(tool).stat()
        configs = [p for p in (Path.cwd() / "ansible.cfg", Path.home() / ".ansible.cfg") if p.is_file()]
        value = {
            "version": VERSION,
            "sources": sources,
            "files": files,
            "tool": [tool, tool_st.st_size, tool_st.st_mtime_ns],
            "configs": [_file_entry(p) for p in configs],
            "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("ANSIBLE_")},
        }
    except OSError as exc:
        return Fingerprint(None, f"cannot read {exc.filename or 'the inventory'}: {exc.strerror or exc}")
    return Fingerprint(value)


def _path_for(sources: list[str], tool: str) -> Path:
    """One cache file per set of inventory sources (a changed inventory replaces it)."""
    name = hashlib.sha256(json.dumps([sources, tool]).encode()).hexdigest()[:32]
    return cache_dir() / f"{name}.json"


def load(sources: list[str], tool: str, fp: Fingerprint) -> tuple[dict[str, Any], float] | None:
    """The cached answer and when it was made, when the fingerprint is the same; else None."""
    if fp.value is None:
        return None
    path = _path_for(sources, tool)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022 or st.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            entry = json.loads(f.read())
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(entry, dict) or entry.get("fingerprint") != fp.value or not isinstance(entry.get("data"), dict):
        return None
    created = entry.get("created")
    return entry["data"], float(created) if isinstance(created, int | float) else 0.0


def store(sources: list[str], tool: str, fp: Fingerprint, data: dict[str, Any]) -> str | None:
    """Keep the answer for the next load; None when kept, else why not."""
    if fp.value is None:
        return fp.uncacheable
    path = _path_for(sources, tool)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps({"fingerprint": fp.value, "data": data, "created": time.time()}).encode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None
