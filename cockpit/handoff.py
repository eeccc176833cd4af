"""Handoff files: the observer's acceptance of the driver's offer, trusted by its owner only.

The driver's offer lives in the lock's holder info (``handoff_uid``/``handoff_until``,
`cockpit.lock`). The observer it names answers by writing
``<state>/handoffs/<lock key>-<uid>.json`` (who, where, and the journal it agrees to
continue); the driver accepts it only when the file's OWNER (``fstat``, opened
``O_NOFOLLOW``) is the offered user and it names the driver's own journal. The
controller orchestrates the rest (`Controller.hand_over`, `accept_handoff`).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from cockpit.state import StateDir, StateError


def acceptance_path(state: StateDir, lock_path: Path, uid: int | None = None) -> Path:
    return state.handoffs / f"{lock_path.stem}-{os.geteuid() if uid is None else uid}.json"


def write_acceptance(state: StateDir, lock_path: Path, user: str, journal: str | None, now: float) -> Path:
    """The observer's side: "I take the wheel of this journal"."""
    path = acceptance_path(state, lock_path)
    data = {"user": user, "host": socket.gethostname().split(".")[0], "pid": os.getpid(), "ts": now,
            "journal": journal}
    state.write_atomic(path, json.dumps(data).encode())
    return path


def read_acceptance(state: StateDir, lock_path: Path, uid: int, journal: Path | None) -> dict[str, Any] | None:
    """The driver's side: the acceptance, if the offered user wrote it for our journal (None: not yet)."""
    path = acceptance_path(state, lock_path, uid)
    try:
        fd = state.open(path, os.O_RDONLY)
    except (FileNotFoundError, StateError):
        return None
    try:
        if os.fstat(fd).st_uid != uid:
            return None
        data = json.loads(os.read(fd, 65536) or b"null")
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict) or data.get("journal") != str(journal):
        return None
    return data
