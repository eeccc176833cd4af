"""`cockpit run` prints outside text (a command's output, a failure reason) to a terminal: no
escape sequence gets through to retitle the window, clear the screen or plant a hyperlink."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import cockpit, profile_text

SCRIPT = r"""printf '\033]0;pwned\007\033[2J\033[31mred\033[0m \033]8;;http://evil.example\033\\click\033]8;;\033\\\n'
exit 3
"""

STEPS = """
[[step]]
id = "hostile"
title = "Prints terminal escapes"
phase = "validate"
kind = "local"
confirm = "none"
command = "sh hostile.sh"
"""


def test_run_prints_no_escape_sequence(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "hostile.sh").write_text(SCRIPT)
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=None, marker_dir=marks, steps=STEPS))
    r = cockpit("run", "hostile", "--profile", str(path), "--yes")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "local | red click" in r.stdout, r.stdout
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stdout + r.stderr
