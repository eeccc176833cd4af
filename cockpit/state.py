"""Where cockpit keeps its state: ``$XDG_STATE_HOME/cockpit`` (default ``~/.local/state/cockpit``).

Locks and journals are named after the profile: its name (readable) plus a
hash of its resolved path (two profiles with the same name never share a lock).
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket
from pathlib import Path

from cockpit.profile.model import Profile

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def state_dir() -> Path:
    """The cockpit state directory (created, mode 0700)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "cockpit"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def journals_dir() -> Path:
    path = state_dir() / "journals"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def locks_dir() -> Path:
    path = state_dir() / "locks"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def safe_name(name: str) -> str:
    """``name`` usable in a file name (``academy production`` -> ``academy-production``)."""
    return _UNSAFE.sub("-", name).strip("-.") or "profile"


def profile_key(profile: Profile) -> str:
    """``NAME-HASH``: the profile's name and the first 12 hex digits of sha256(resolved path)."""
    resolved = str(Path(profile.path).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:12]
    return f"{safe_name(profile.cockpit.name)}-{digest}"


def whoami() -> tuple[str, str]:
    """``(user, host)`` of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return user, socket.gethostname().split(".")[0]
