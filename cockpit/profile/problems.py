"""Problems found in a profile: ``path:LINE: message`` lines, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem, located at a 1-based line of the profile (0 when the file could not be read)."""

    line: int
    message: str
    severity: Severity = "error"

    def format(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line > 0 else path
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Stable order by line (problems found on the same line keep their discovery order)."""
    return sorted(problems, key=lambda p: p.line)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


class ProfileError(Exception):
    """A profile that cannot be used. ``problems`` are sorted by line; ``path`` is as the user gave it."""

    def __init__(self, path: str, problems: Iterable[Problem]) -> None:
        self.path = path
        self.problems: list[Problem] = sort_problems(problems)
        super().__init__(self.format())

    def format(self) -> str:
        """Every problem as a ``path:LINE: message`` line."""
        return "\n".join(p.format(self.path) for p in self.problems)
