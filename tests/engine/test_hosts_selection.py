"""``--hosts``: "not given" runs on the whole group, an empty or unknown selection is refused.

The real CLI in subprocesses against a real sshd (a marker file per host it ran on), and the
controller itself, which the TUI and the CLI share.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.state import journals_dir
from tests.engine.conftest import cockpit, profile_text

ALL = ["touched-127.0.1.1", "touched-127.0.1.2"]

CASES = [
    # (id, --hosts value or None for "not given", exit, markers expected, message)
    ("not-given", None, 0, ALL, ""),
    ("one", "web-1", 0, ["touched-127.0.1.1"], ""),
    ("both-spaced", " web-2 , web-1 ", 0, ALL, ""),
    ("empty", "", 2, [], "--hosts is empty"),
    ("comma", ",", 2, [], "--hosts is empty"),
    ("space", " ", 2, [], "--hosts is empty"),
    ("commas-spaces", " , ,", 2, [], "--hosts is empty"),
    ("trailing-comma", "web-1,", 2, [], "an empty host name"),
    ("twice", "web-1,web-1", 2, [], "web-1 is named twice"),
    ("unknown", "web-9", 2, [], "web-9: not in host group 'web'"),
    ("unknown-and-known", "web-1,web-9", 2, [], "web-9: not in host group 'web'"),
    ("other-group-host", "127.0.1.1", 2, [], "not in host group"),
]


@pytest.fixture
def profile(sshd, tmp_path: Path, marker_dir: Path) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(profile_text(ssh=sshd, marker_dir=marker_dir))
    return p


@pytest.mark.parametrize(("hosts", "code", "markers", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hosts_selection(profile: Path, marker_dir: Path, hosts: str | None, code: int, markers: list[str],
                         message: str) -> None:
    extra = [] if hosts is None else ["--hosts", hosts]
    r = cockpit("run", "touch", "--profile", str(profile), "--yes", *extra)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in marker_dir.iterdir()) == markers
    starts = [e for f in journals_dir().glob("*.jsonl") for e in read_journal(f) if e["type"] == "step_start"]
    assert len(starts) == (1 if markers else 0)


def test_hosts_on_a_local_step_is_refused_even_empty(profile: Path) -> None:
    r = cockpit("run", "prepare", "--profile", str(profile), "--hosts", "")
    assert r.returncode == 2 and "--hosts applies to ssh and ansible steps only" in r.stderr, r.stderr


async def test_the_controller_refuses_an_empty_selection(sshd, make_profile, marker_dir: Path) -> None:
    """An explicit empty host list is not "the whole group", whoever passes it."""
    c = Controller(make_profile(ssh=sshd))
    await c.start(connect=False, poll=False)
    try:
        result = await c.fire("touch", yes=True, hosts=[])
        assert result.state == "refused" and "no host selected" in (result.reason or "")
        assert list(marker_dir.iterdir()) == []
        result = await c.fire("touch", yes=True, hosts=["web-2"])
        assert result.state == "ok", result
        assert [p.name for p in marker_dir.iterdir()] == ["touched-127.0.1.2"]
        result = await c.fire("prepare", hosts=["web-1"])      # a local step has no hosts to choose
        assert result.state == "refused" and "ssh and ansible steps only" in (result.reason or "")
    finally:
        await c.stop()
