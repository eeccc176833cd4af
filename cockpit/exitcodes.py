"""The exit codes of every ``cockpit`` command: one table, used by all of them.

README's "Exit codes" table is tested against `Exit` (``tests/engine/test_cli_flags.py``),
so a code added here without documenting it fails the tests. Argparse's own
usage errors exit 2 too, which is why `Exit.USAGE` is 2.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a command's exit status means (the same number means the same thing everywhere)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return MEANINGS[self]


MEANINGS: dict[Exit, str] = {
    Exit.OK: "done and ok: the profile is valid, every check is ok, the step succeeded, the file was written",
    Exit.FAILED: (
        "done but not ok: a check is not ok (`status`), a host or the step failed, or the state directory's "
        "lock or journal could not be opened (`run`), "
        "a file could not be written or already exists (`profile init`), the demo stack could not start"
    ),
    Exit.USAGE: (
        "nothing was done: bad usage (unknown or conflicting option, option that does not apply to the "
        "command, empty or unknown `--hosts`, unknown step), a bad or missing profile, an unreadable journal, "
        "no terminal for the TUI"
    ),
    Exit.REFUSED: (
        "refused by the guard (`run`): read-only, driver lock held by someone else, `after` steps not done, "
        "confirmation missing or wrong"
    ),
    Exit.INTERRUPTED: "interrupted (Ctrl-C / SIGTERM); a running step was cancelled on every host and journalled",
}


def markdown_table() -> str:
    """The README's exit-code table, from `Exit` (the test compares the README with this)."""
    rows = ["| exit | name | meaning |", "|---|---|---|"]
    rows += [f"| {code.value} | `{code.name}` | {code.meaning} |" for code in Exit]
    return "\n".join(rows)
