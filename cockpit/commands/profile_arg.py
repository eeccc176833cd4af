"""The one way every command turns ``--profile NAME|PATH`` into a `Profile` (or a clear refusal).

``read_profile`` locates and validates (``cockpit check`` prints its result
itself); ``open_profile`` is what the acting commands (the TUI, ``status``,
``run``) use: problems and warnings on stderr as ``file:LINE: message``, and
None when the profile cannot be used.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from cockpit.profile.load import validate
from cockpit.profile.locate import ProfileNotFound, locate_profile
from cockpit.profile.model import Profile
from cockpit.profile.problems import Problem, errors

IMPLICIT_FILE = "cockpit.toml"


@dataclass(frozen=True)
class Loaded:
    path: Path  # the file read
    shown: str  # how messages name it: as the user gave it, or a bundled one relative to the cwd
    profile: Profile | None  # None when any problem is an error
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return errors(self.problems)


def read_profile(name_or_path: str) -> Loaded:
    """Locate and validate; raises `ProfileNotFound` (its message says what exists)."""
    path = locate_profile(name_or_path)
    shown = name_or_path if Path(name_or_path).expanduser().is_file() else _relative(path)
    profile, problems = validate(path)
    return Loaded(path, shown, None if errors(problems) else profile, problems)


def implicit_profile() -> str | None:
    """The TUI's profile when ``--profile`` is not given: ``$COCKPIT_PROFILE``, else ``./cockpit.toml``."""
    return os.environ.get("COCKPIT_PROFILE") or (IMPLICIT_FILE if Path(IMPLICIT_FILE).is_file() else None)


def open_profile(
    name_or_path: str | None, command: str, *, implicit: bool = False, out: TextIO | None = None
) -> Profile | None:
    """The profile, or None after saying on ``out`` (stderr) why it cannot be used."""
    out = out or sys.stderr
    if not name_or_path and implicit:
        name_or_path = implicit_profile()
    if not name_or_path:
        hint = f" (or ${{COCKPIT_PROFILE}}, or ./{IMPLICIT_FILE}; or `cockpit demo`)" if implicit else ""
        print(f"{command}: no profile: use --profile NAME|PATH{hint}", file=out)
        return None
    try:
        loaded = read_profile(name_or_path)
    except ProfileNotFound as e:
        print(f"{command}: {e}", file=out)
        return None
    for p in loaded.problems:
        print(p.format(loaded.shown), file=out)
    if loaded.profile is None:
        n = len(loaded.errors)
        print(f"{command}: {loaded.shown}: {n} error{'' if n == 1 else 's'}; nothing started", file=out)
        return None
    return loaded.profile


def _relative(path: Path) -> str:
    """A bundled profile's file, relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
