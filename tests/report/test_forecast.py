"""#16.3: the RTO forecast from earlier journals of the same profile (synthetic journals: known
medians give a known projection), the controller's plain field, and `cockpit report --stats`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cockpit.controller import Controller
from cockpit.forecast import percentile, project, step_stats
from cockpit.profile.load import load_profile
from cockpit.profile.model import Profile
from cockpit.state import journals_dir, profile_key
from tests.engine.conftest import cockpit, profile_text

T = 1_800_000_000.0        # 2027-01-15 08:00:00 UTC
TOUCH = [10.0, 20.0, 30.0, 40.0, 100.0]   # median 30, p90 (nearest rank) 100
FINISH = [5.0, 5.0, 6.0, 5.0, 4.0]        # median 5


def write_history(profile: Profile) -> list[Path]:
    """Five earlier incidents of the profile: touch and finish ok, one failed touch that must not count."""
    paths = []
    folder = journals_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for i, (touch, finish) in enumerate(zip(TOUCH, FINISH, strict=True)):
        start = T - 86400 * (10 - i)
        stamp = dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        session = f"{profile_key(profile)}-{stamp}"

        def e(off: float, type_: str, session: str = session, start: float = start, **kw: Any) -> str:
            return json.dumps({"ts": start + off, "type": type_, "session": session, **kw}) + "\n"

        text = (e(0, "session_start", user="u", host="h", mode="driver", profile=profile.cockpit.name)
                + e(1, "rollback_start") + e(1, "step_start", step="touch")
                + e(1 + touch, "step_end", step="touch", state="ok", duration=touch)
                + e(2 + touch, "step_start", step="finish")
                + e(2 + touch + finish, "step_end", step="finish", state="ok", duration=finish)
                + e(3 + touch + finish, "step_end", step="touch", state="failed", duration=999.0)
                + e(4 + touch + finish, "rollback_end") + e(5 + touch + finish, "session_end"))
        path = folder / f"{session}.jsonl"
        path.write_text(text)
        paths.append(path)
    return paths


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=None, marker_dir=marks))
    return load_profile(path)


def test_known_medians_give_a_known_projection(profile: Profile) -> None:
    write_history(profile)
    stats = step_stats(profile)
    assert {k: (v.runs, v.median, v.p90, v.incidents) for k, v in stats.items()} == {
        "touch": (5, 30.0, 100.0, 5), "finish": (5, 5.0, 6.0, 5)}
    start = T
    # nothing done: touch (30) + finish (5); destroy has no history; prepare is not on the critical path
    p = project(profile, stats, now=start + 60, done=(), running={}, rollback_started=start)
    assert (p.remaining, p.done_at, p.budget_at, p.fits, p.unknown) == (35.0, start + 95, start + 900, True, ("destroy",))
    assert p.text() == "projected done 08:01 — budget 08:15" and p.warning is None
    # touch running for 20 s: 10 s of its median left
    p = project(profile, stats, now=start + 60, done=(), running={"touch": start + 40}, rollback_started=start)
    assert p.remaining == 15.0
    # touch done, 880 s in: finish's 5 s still fit the 900 s budget; 897 s in they do not
    assert project(profile, stats, now=start + 880, done={"touch"}, running={}, rollback_started=start).fits
    late = project(profile, stats, now=start + 897, done={"touch"}, running={}, rollback_started=start)
    assert not late.fits and late.warning == "the remaining steps need 5s by their medians: done 2s after the RTO budget"
    assert percentile([1.0], 0.9) == 1.0 and percentile([3.0, 1.0, 2.0], 0.5) == 2.0


async def test_the_controller_exposes_the_projection(profile: Profile) -> None:
    write_history(profile)
    clock = [T + 86400]
    c = Controller(profile, now=lambda: clock[0])
    await c.start(connect=False, poll=False)
    try:
        assert c.forecast is not None and c.forecast.budget_at is None     # not started: no budget yet
        assert c.start_rollback()
        clock[0] += 60
        f = c.forecast
        assert f is not None and f.text() == "projected done 08:01 — budget 08:15"
        assert f.remaining == 35.0 and f.fits
        clock[0] += 870
        assert c.forecast is not None and not c.forecast.fits and c.forecast.warning
    finally:
        await c.stop()


def test_without_history_there_is_no_forecast(profile: Profile) -> None:
    c = Controller(profile)
    assert c.forecast is None


def test_report_stats_prints_the_table(profile: Profile) -> None:
    write_history(profile)
    r = cockpit("report", "--stats", "--profile", profile.path)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:] if line.strip()}
    assert lines["touch"] == ["touch", "rollback", "5", "5", "30s", "1m40s"]
    assert lines["finish"] == ["finish", "validate", "5", "5", "5s", "6s"]
    assert lines["destroy"] == ["destroy", "rollback", "0", "0", "-", "-"]
    assert "critical path (rollback + validate, medians): 35s of an RTO of 15m" in r.stdout
    js = json.loads(cockpit("report", "--stats", "--profile", profile.path, "--format", "json").stdout)
    assert js["touch"] == {"runs": 5, "median": 30.0, "p90": 100.0, "incidents": 5}
