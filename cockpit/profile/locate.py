"""Finding a profile: a path, or the name of a profile bundled with cockpit (``academy``, ``demo``, ``drill``).

Bundled profiles live in the repository's ``profiles/`` (editable installs and
development) and in the wheel's ``cockpit/bundled_profiles/`` (pyproject
force-includes ``profiles/`` there).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_REPO_PROFILES = Path(__file__).resolve().parent.parent.parent / "profiles"


class ProfileNotFound(FileNotFoundError):
    """Neither a file nor a bundled profile's name."""


def bundled_dirs() -> list[Path]:
    """Directories holding bundled profiles, most specific first."""
    out: list[Path] = []
    if _REPO_PROFILES.is_dir():
        out.append(_REPO_PROFILES)
    try:
        res = importlib.resources.files("cockpit").joinpath("bundled_profiles")
        if res.is_dir():
            out.append(Path(str(res)))
    except (ModuleNotFoundError, NotADirectoryError, TypeError):
        pass
    return out


def bundled_profiles() -> dict[str, Path]:
    """Name -> file of every bundled profile (``academy`` -> ``.../profiles/academy.toml``)."""
    found: dict[str, Path] = {}
    for d in bundled_dirs():
        for f in sorted(d.glob("*.toml")):
            found.setdefault(f.stem, f)
    return found


def locate_profile(name_or_path: str) -> Path:
    """An existing file, else a bundled profile by name; `ProfileNotFound` says what exists."""
    given = Path(name_or_path).expanduser()
    if given.is_file():
        return given
    if given.exists():
        raise ProfileNotFound(f"{name_or_path}: not a file")
    bundled = bundled_profiles()
    stem = name_or_path[:-5] if name_or_path.endswith(".toml") else name_or_path
    if "/" not in name_or_path and stem in bundled:
        return bundled[stem]
    names = ", ".join(sorted(bundled)) or "(none)"
    raise ProfileNotFound(
        f"{name_or_path}: no such file, and no bundled profile of that name (bundled: {names})"
    )
