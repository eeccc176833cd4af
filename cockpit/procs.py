"""Processes on this machine, read from ``/proc`` (Linux): who is still in a process group.

Used on resume to say what an interrupted local step left running, and by the tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    command: str


def boot_id() -> str | None:
    """This boot's id (a pid recorded under another boot id is long gone)."""
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _pgrp(stat: str) -> int | None:
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ")"
    rest = stat[stat.rfind(")") + 2:].split()
    if len(rest) < 3 or rest[0] == "Z":      # a zombie runs nothing
        return None
    try:
        return int(rest[2])
    except ValueError:
        return None


def in_group(pgid: int) -> list[Proc]:
    """The live (not zombie) processes of process group ``pgid``, by pid."""
    found: list[Proc] = []
    try:
        names = os.listdir(PROC)
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = (PROC / name / "stat").read_text()
            if _pgrp(stat) != pgid:
                continue
            raw = (PROC / name / "cmdline").read_bytes()
        except OSError:
            continue
        command = " ".join(raw.replace(b"\0", b" ").decode(errors="replace").split()) or stat.split(" ", 2)[1]
        found.append(Proc(int(name), command[:200]))
    return sorted(found, key=lambda p: p.pid)
