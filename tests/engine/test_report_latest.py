"""``cockpit report --latest [--profile P]``: the newest incident's journal without its full path."""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.journal import journals_of
from cockpit.profile.load import load_profile
from cockpit.state import journals_dir, profile_key
from tests.engine.conftest import cockpit


def _profile(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    r = cockpit("profile", "init", str(path))
    assert r.returncode == 0, r.stderr
    path.write_text(path.read_text().replace('name = "', f'name = "{name}-', 1))
    return path


def _journal(path: Path, profile: Path, stamp: str, ts: float, label: str) -> Path:
    key = profile_key(load_profile(profile))
    out = journals_dir() / f"{key}-{stamp}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = [
        {"type": "session_start", "ts": ts, "session": label, "profile": label, "environment": "drill",
         "rto_budget": 900, "mode": "driver", "user": "deploy", "host": "bastion"},
        {"type": "session_end", "ts": ts + 5, "session": label},
    ]
    out.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return out


def test_latest_picks_the_newest_incident_overall_and_per_profile(tmp_path: Path) -> None:
    a, b = _profile(tmp_path, "alpha"), _profile(tmp_path, "beta")
    _journal(tmp_path, a, "20251128T090000Z", 1_764_320_400.0, "alpha-old")
    newest_a = _journal(tmp_path, a, "20251128T100000Z", 1_764_324_000.0, "alpha-new")
    newest = _journal(tmp_path, b, "20251128T110000Z", 1_764_327_600.0, "beta-only")
    assert journals_of(load_profile(a))[-1] == newest_a

    r = cockpit("report", "--latest")
    assert r.returncode == 0, r.stderr
    assert "`beta-only`" in r.stdout and str(newest) in r.stderr  # says which file it chose

    r = cockpit("report", "--latest", "--profile", str(a))
    assert r.returncode == 0, r.stderr
    assert "`alpha-new`" in r.stdout and str(newest_a) in r.stderr


def test_latest_says_why_when_there_is_nothing(tmp_path: Path) -> None:
    r = cockpit("report", "--latest")
    assert r.returncode == 2 and "no journal found" in r.stderr and "Traceback" not in r.stderr
    r = cockpit("report")
    assert r.returncode == 2 and "--latest" in r.stderr
    r = cockpit("report", "--latest", "--profile", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "missing.toml" in r.stderr and "Traceback" not in r.stderr
    r = cockpit("report", str(tmp_path / "x.jsonl"), "--latest")
    assert r.returncode == 2 and "not both" in r.stderr
