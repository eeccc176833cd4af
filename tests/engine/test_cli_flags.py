"""Options mean the same wherever they are written, or are refused: the real ``cockpit`` entry point
in subprocesses, against a real sshd where a step runs.

Each case is the exact argv, the exit status, whether the step's effect must be on the hosts (a
marker file per web host, touched over SSH) and a piece of the message. A refused or read-only
case must leave no marker on the hosts and no ``step_start`` in any journal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cockpit.exitcodes import Exit
from cockpit.journal import read_journal
from cockpit.state import journals_dir
from tests.conftest import REPO
from tests.engine.conftest import cockpit, profile_text

# (id, argv with {P} the profile, {Q} another profile, {J} a journal, {T} a path to write; exit; effect; message)
CASES: list[tuple[str, list[str], int, bool, str]] = [
    # run: --read-only before, after, around the subcommand
    ("ro-before-run", ["--read-only", "run", "touch", "--profile", "{P}", "--yes"], 3, False, "read-only"),
    ("ro-after-run", ["run", "touch", "--profile", "{P}", "--yes", "--read-only"], 3, False, "read-only"),
    ("ro-profile-before-run", ["--profile", "{P}", "--read-only", "run", "touch", "--yes"], 3, False, "read-only"),
    ("ro-twice", ["--read-only", "run", "touch", "--read-only", "--profile", "{P}", "--yes"], 3, False, "read-only"),
    # run: --profile before or after, once or twice
    ("profile-before-run", ["--profile", "{P}", "run", "touch", "--yes"], 0, True, ""),
    ("profile-after-run", ["run", "touch", "--profile", "{P}", "--yes"], 0, True, ""),
    ("profile-both-same", ["--profile", "{P}", "run", "touch", "--profile", "{P}", "--yes"], 0, True, ""),
    ("profile-both-differ", ["--profile", "{P}", "run", "touch", "--profile", "{Q}", "--yes"], 2, False,
     "--profile given twice"),
    ("profile-twice-after", ["run", "touch", "--profile", "{P}", "--profile", "{Q}", "--yes"], 2, False,
     "--profile given twice"),
    ("confirm-twice", ["run", "touch", "--profile", "{P}", "--confirm", "drill", "--confirm", "production"], 2,
     False, "--confirm given twice"),
    ("hosts-twice", ["run", "touch", "--profile", "{P}", "--yes", "--hosts", "web-1", "--hosts", "web-2"], 2,
     False, "--hosts given twice"),
    # run options are not global; unknown and abbreviated options are refused, never guessed
    ("override-before-run", ["--override", "run", "destroy", "--profile", "{P}", "--confirm", "drill"], 2, False,
     "--override is an option of `cockpit run`"),
    ("confirm-before-run", ["--confirm", "drill", "run", "destroy", "--profile", "{P}"], 2, False,
     "--confirm is an option of `cockpit run`"),
    ("json-before-status", ["--json", "status", "--profile", "{P}"], 2, False, "--json is an option of `cockpit status`"),
    ("speed-before-demo", ["--speed", "2", "demo"], 2, False, "--speed is an option of `cockpit demo`"),
    ("format-before-report", ["--format", "json", "report", "{J}"], 2, False, "--format is an option of `cockpit report`"),
    ("force-before-init", ["--force", "profile", "init", "{T}"], 2, False, "--force is an option of `cockpit profile init`"),
    ("yes-before-run", ["--yes", "run", "touch", "--profile", "{P}"], 2, False, "--yes is an option of `cockpit run`"),
    ("hosts-before-run", ["--hosts", "web-1", "run", "touch", "--profile", "{P}", "--yes"], 2, False,
     "--hosts is an option of `cockpit run`"),
    ("unknown-option", ["run", "touch", "--profile", "{P}", "--yes", "--bogus"], 2, False,
     "unrecognized arguments: --bogus"),
    ("abbrev-profile", ["run", "touch", "--prof", "{P}", "--yes"], 2, False, "unrecognized arguments: --prof"),
    ("abbrev-read-only", ["run", "touch", "--profile", "{P}", "--yes", "--read"], 2, False,
     "unrecognized arguments: --read"),
    ("abbrev-yes", ["run", "touch", "--profile", "{P}", "--ye"], 2, False, "unrecognized arguments: --ye"),
    # status
    ("status-profile-before", ["--profile", "{P}", "status", "--json"], 0, False, ""),
    ("status-profile-after", ["status", "--profile", "{P}", "--json"], 0, False, ""),
    ("status-read-only", ["--read-only", "status", "--profile", "{P}", "--json"], 0, False, ""),
    ("status-profile-differ", ["--profile", "{P}", "status", "--profile", "{Q}"], 2, False, "given twice"),
    ("status-no-profile", ["status"], 2, False, "no profile: use --profile"),
    # check
    ("check-positional", ["check", "{P}"], 0, False, ": ok ("),
    ("check-profile-before", ["--profile", "{P}", "check"], 0, False, ": ok ("),
    ("check-profile-after", ["check", "--profile", "{P}"], 0, False, ": ok ("),
    ("check-read-only", ["check", "{P}", "--read-only"], 0, False, ": ok ("),
    ("check-two-profiles", ["check", "{P}", "--profile", "{Q}"], 2, False, "two profiles given"),
    ("check-none", ["check"], 2, False, "needs a profile"),
    # demo, report, profile init: a global option that does not apply is refused, before or after
    ("demo-profile-before", ["--profile", "{P}", "demo"], 2, False, "--profile does not apply"),
    ("demo-profile-after", ["demo", "--profile", "{P}"], 2, False, "--profile does not apply"),
    ("demo-speed-twice", ["demo", "--speed", "2", "--speed", "3"], 2, False, "--speed given twice"),
    ("report", ["report", "{J}", "--format", "json"], 0, False, ""),
    ("report-read-only", ["--read-only", "report", "{J}", "--format", "json"], 0, False, ""),
    # report: --profile adds the steps never run, deadlines and links (#16)
    ("report-profile-before", ["--profile", "{P}", "report", "{J}"], 0, False, ""),
    ("report-profile-after", ["report", "{J}", "--profile", "{P}"], 0, False, ""),
    ("report-html-out", ["report", "{J}", "--incident", "INC-1", "--format", "html", "--output", "{T}"], 0, False, ""),
    ("report-stats", ["report", "--stats", "--profile", "{P}"], 0, False, "critical path"),
    ("report-stats-no-profile", ["report", "--stats"], 2, False, "--profile"),
    ("report-no-journal", ["report"], 2, False, "which journal?"),
    ("report-journal-and-latest", ["report", "{J}", "--latest"], 2, False, "not both"),
    ("latest-before-report", ["--latest", "report"], 2, False, "--latest is an option of `cockpit report`"),
    ("abandon-reason", ["abandon", "--profile", "{P}", "--reason", "drill over"], 0, False, ""),
    ("init-read-only-before", ["--read-only", "profile", "init", "{T}"], 2, False, "cannot be --read-only"),
    ("init-read-only-after", ["profile", "init", "{T}", "--read-only"], 2, False, "cannot be --read-only"),
    ("init-profile", ["profile", "init", "{T}", "--profile", "{P}"], 2, False, "--profile does not apply"),
    ("profile-no-action", ["profile"], 2, False, "required: ACTION"),
    # given but empty is refused, never taken as "not given"
    ("tui-profile-empty", ["--profile", ""], 2, False, "--profile is empty"),
    ("run-profile-empty", ["run", "touch", "--profile", " ", "--yes"], 2, False, "--profile is empty"),
    ("check-empty", ["check", ""], 2, False, "PROFILE is empty"),
    ("report-empty", ["report", ""], 2, False, "JOURNAL is empty"),
    ("init-empty", ["profile", "init", ""], 2, False, "PATH is empty"),
    ("step-empty", ["run", "", "--profile", "{P}"], 2, False, "STEP is empty"),
    # the TUI (no subcommand): the profile is loaded before the terminal is looked at
    ("tui-no-terminal", ["--profile", "{P}", "--read-only"], 2, False, "needs a terminal"),
    ("tui-bad-option", ["--profile", "{P}", "--yes"], 2, False, "--yes is an option of `cockpit run`"),
    # the multi-user commands: their options are their own; approve and setup-bastion write
    ("approve-read-only", ["approve", "touch", "--profile", "{P}", "--confirm", "drill", "--read-only"], 2, False,
     "cannot be --read-only"),
    ("refuse-before-approve", ["--refuse", "no", "approve", "touch", "--profile", "{P}"], 2, False,
     "--refuse is an option of `cockpit approve`"),
    ("wait-before-approve", ["--wait", "1", "approve", "touch", "--profile", "{P}"], 2, False,
     "--wait is an option of `cockpit approve`"),
    ("for-before-watch", ["--for", "1", "watch", "--profile", "{P}"], 2, False, "--for is an option of `cockpit watch`"),
    ("no-poll-before-watch", ["--no-poll", "watch", "--profile", "{P}"], 2, False,
     "--no-poll is an option of `cockpit watch`"),
    ("group-before-setup", ["--group", "g", "setup-bastion"], 2, False, "--group is an option of `cockpit setup-bastion`"),
    ("dir-before-setup", ["--dir", "/x", "setup-bastion", "--group", "g"], 2, False,
     "--dir is an option of `cockpit setup-bastion`"),
    ("member-before-setup", ["--member", "u", "setup-bastion", "--group", "g"], 2, False,
     "--member is an option of `cockpit setup-bastion`"),
    ("setup-profile", ["setup-bastion", "--group", "g", "--profile", "{P}"], 2, False, "--profile does not apply"),
    # replay (#16): read-only by nature; its options are its own; bad values refused before any terminal
    ("replay-no-terminal", ["replay", "{J}", "--profile", "{P}", "--speed", "10", "--at", "10:00", "--paused"], 2,
     False, "needs a terminal"),
    ("replay-read-only", ["--read-only", "replay", "{J}", "--profile", "{P}"], 2, False, "needs a terminal"),
    ("replay-bad-speed", ["replay", "{J}", "--profile", "{P}", "--speed", "0"], 2, False, "--speed must be"),
    ("replay-bad-at", ["replay", "{J}", "--profile", "{P}", "--at", "noon"], 2, False, "--at 'noon'"),
    ("replay-no-profile", ["replay", "{J}"], 2, False, "which profile?"),
    ("replay-no-journal", ["replay", "{T}", "--profile", "{P}"], 2, False, "No such file"),
    ("replay-speed-twice", ["replay", "{J}", "--speed", "2", "--speed", "3"], 2, False, "--speed given twice"),
    ("at-before-replay", ["--at", "10:00", "replay", "{J}"], 2, False, "--at is an option of `cockpit replay`"),
    ("paused-before-replay", ["--paused", "replay", "{J}"], 2, False, "--paused is an option of `cockpit replay`"),
    # serve: always read-only; its options are its own; bad values are refused before anything binds
    ("serve-read-only", ["serve", "--profile", "{P}", "--read-only"], 2, False, "always read-only"),
    ("port-before-serve", ["--port", "8000", "serve", "--profile", "{P}"], 2, False,
     "--port is an option of `cockpit serve`"),
    ("serve-bad-port", ["serve", "--profile", "{P}", "--port", "70000"], 2, False, "--port must be"),
    ("serve-bad-cap", ["serve", "--profile", "{P}", "--max-visitors", "0"], 2, False, "--max-visitors must be"),
    ("serve-bad-idle", ["serve", "--profile", "{P}", "--idle-timeout", "-1"], 2, False, "--idle-timeout must be"),
    ("serve-empty-host", ["serve", "--profile", "{P}", "--host", " "], 2, False, "--host is empty"),
    # abandon writes the journal: never read-only; its --reason is its own
    ("abandon-read-only", ["abandon", "--profile", "{P}", "--read-only"], 2, False, "cannot be --read-only"),
    ("reason-before-abandon", ["--reason", "x", "abandon", "--profile", "{P}"], 2, False,
     "--reason is an option of `cockpit abandon`"),
]


@pytest.fixture
def files(sshd, tmp_path: Path, marker_dir: Path) -> dict[str, str]:
    p = tmp_path / "p.toml"
    p.write_text(profile_text(ssh=sshd, marker_dir=marker_dir))
    q = tmp_path / "q.toml"
    q.write_text(profile_text(ssh=sshd, marker_dir=marker_dir, name="other"))
    j = tmp_path / "j.jsonl"
    j.write_text(json.dumps({"ts": 1.0, "type": "session_start", "session": "s", "profile": "x"}) + "\n")
    return {"P": str(p), "Q": str(q), "J": str(j), "T": str(tmp_path / "new.toml")}


def _step_starts() -> list[dict[str, object]]:
    return [e for f in journals_dir().glob("*.jsonl") for e in read_journal(f) if e["type"] == "step_start"]


@pytest.mark.parametrize(("argv", "code", "effect", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_option_placement(files: dict[str, str], marker_dir: Path, argv: list[str], code: int, effect: bool,
                          message: str) -> None:
    args = [a.format(**files) for a in argv]
    r = cockpit(*args)
    assert r.returncode == code, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert message in r.stdout + r.stderr, (args, r.stdout, r.stderr)
    touched = sorted(p.name for p in marker_dir.iterdir())
    if effect:
        assert touched == ["touched-127.0.1.1", "touched-127.0.1.2"], touched
        assert [e["step"] for e in _step_starts()] == ["touch"]
    else:
        assert touched == [], (args, touched)     # nothing happened on the hosts
        assert _step_starts() == []
    assert not Path(files["T"]).exists() or code == 0


def test_every_option_of_every_command_is_in_the_table() -> None:
    """Every option string of every parser appears in some case: a new option must be placed in the table."""
    from cockpit.cli import build_parser

    seen = {a for c in CASES for a in c[1] if a.startswith("--")}
    parsers = [build_parser()]
    options: set[str] = set()
    while parsers:
        p = parsers.pop()
        for action in p._actions:
            if action.choices and isinstance(action.choices, dict):
                parsers += list(action.choices.values())
            options |= {o for o in action.option_strings if o.startswith("--") and o not in ("--help", "--version")}
    assert options - seen == set(), options - seen


def test_readme_exit_codes_are_the_table() -> None:
    """README documents the exit codes once, exactly as `cockpit.exitcodes.Exit` says."""
    from cockpit.exitcodes import markdown_table

    readme = (REPO / "README.md").read_text()
    assert markdown_table() in readme
    # the Command line table names only codes that exist
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    used = {int(n) for n in re.findall(r"\b(\d+)\b", "".join(
        line.rsplit("|", 2)[-2] for line in section.splitlines() if line.startswith("| `cockpit")))}
    assert used and used <= {int(c) for c in Exit}, used


def test_commands_return_only_exit_codes_of_the_table() -> None:
    """No command returns a bare number: every exit status comes from `Exit`."""
    import ast

    for path in [REPO / "cockpit" / "cli.py", *sorted((REPO / "cockpit" / "commands").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant):
                assert not (isinstance(node.value.value, int) and not isinstance(node.value.value, bool)), f"{path.name}:{node.lineno}: return {node.value.value}"


@pytest.mark.parametrize("argv", [["--read-only", "demo", "--speed", "10"], ["demo", "--speed", "10", "--read-only"]],
                         ids=["before", "after"])
def test_demo_read_only_wherever_written(tmp_path: Path, argv: list[str]) -> None:
    """The real ``cockpit demo`` on a pseudo-terminal: the header says READ-ONLY, not DRIVER."""
    import fcntl
    import os
    import pty
    import signal
    import struct
    import termios

    from tests.demo.test_command import COCKPIT, _read_until, _wait_exit

    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(tmp_path), "COLUMNS": "160", "LINES": "48"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(COCKPIT), ["cockpit", *argv], env)
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        text, ok = _read_until(fd, pid, [b"academy-demo", b"READ-ONLY", b"Horizon queue depth"], deadline=60)
        assert ok, text[-2000:].decode(errors="replace")
        assert b"DRIVER" not in text
        status = None
        for _ in range(60):   # the first keys may come before the app listens: press q until it quits
            try:
                os.write(fd, b"q")
            except OSError:
                break         # the terminal is closed: the app is leaving
            _read_until(fd, pid, [b"\0never"], deadline=0.5)   # keep reading: a full pty blocks the app
            status = _wait_exit(pid, deadline=0)
            if status is not None:
                break
        if status is None:
            status = _wait_exit(pid, deadline=30)
        assert status == 0
    finally:
        if _wait_exit(pid, 0) is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


# every command with the arguments it needs: (words before the options, words after)
COMMANDS: dict[str | None, list[str]] = {
    None: [], "demo": ["demo"], "check": ["check"], "status": ["status"], "run": ["run", "touch"],
    "report": ["report", "j.jsonl"], "profile": ["profile", "init", "new.toml"], "abandon": ["abandon"],
    "watch": ["watch"], "approve": ["approve", "touch"], "setup-bastion": ["setup-bastion", "--group", "g"],
    "serve": ["serve"],
}


MATRIX = [(c, o, w) for c in COMMANDS for o in ("profile", "read_only") for w in ("before", "after")
          if not (c is None and w == "after")]   # the TUI has no subcommand to write an option after


@pytest.mark.parametrize(("command", "option", "where"), MATRIX, ids=[f"{c}-{o}-{w}" for c, o, w in MATRIX])
def test_every_global_option_in_every_place(command: str | None, option: str, where: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The whole matrix, parsed in-process: the same value wherever written, or the same refusal."""
    from cockpit.cli import NOT_APPLICABLE, parse_args

    flag = ["--profile", "p.toml"] if option == "profile" else ["--read-only"]
    words = COMMANDS[command]
    argv = [*flag, *words] if where == "before" else [*words, *flag]
    if command == "check" and option != "profile":
        argv.append("p.toml")
    if (command, option) in NOT_APPLICABLE:
        with pytest.raises(SystemExit) as exc:
            parse_args(argv)
        assert exc.value.code == Exit.USAGE
        assert NOT_APPLICABLE[(command, option)] in capsys.readouterr().err
        return
    args = parse_args(argv)
    assert args.command == command
    if option == "profile":
        assert args.profile == "p.toml"
    else:
        assert args.read_only is True
