"""#15: Alertmanager silences held by the rollback, against Debian's real Alertmanager with a real
Prometheus firing alerts into it: created, extended, expired, reconciled after kill -9, failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.profile.load import load_profile
from cockpit.report import render_markdown
from cockpit.state import journals_dir
from tests.engine.conftest import REPO, cockpit, profile_text, wait_until
from tests.integrations.conftest import apoll, write_profile
from tests.support.alertmanager import TestAlertmanager
from tests.support.hostile import running_hostile
from tests.support.sshd import free_port


def silence_steps(duration: str = "6s", margin: str = "4s", required: bool = False) -> str:
    return f"""
[[step]]
id = "silence"
title = "Silence the alerts the rollback triggers"
phase = "rollback"
kind = "silence"
confirm = "none"
starts_rollback = true
[step.silence]
source = "am"
matchers = ['alertname=~"HorizonPaused|OctaneDown"', 'env="drill"']
duration = "{duration}"
margin = "{margin}"
required = {str(required).lower()}

[[step]]
id = "pause"
title = "After the silence"
phase = "rollback"
kind = "local"
confirm = "none"
after = ["silence"]
command = "echo paused"

[[step]]
id = "slow"
title = "A long local step"
phase = "rollback"
kind = "local"
confirm = "none"
timeout = "120s"
command = "echo $$ > {{marks}}/slow.pid; sleep 60"
"""


def am_source(url: str, timeout: str = "3s") -> str:
    return f"""
[sources.am]
kind = "alertmanager"
url = "{url}"
timeout = "{timeout}"
interval = "1s"

[[signal]]
id = "alerts"
title = "Active alerts"
source = "am"
view = "alerts"
filter = ['env="drill"']
"""


def make(tmp_path: Path, marker_dir: Path, url: str, **kw: object) -> Path:
    timeout = str(kw.pop("timeout", "3s"))
    text = profile_text(ssh=None, marker_dir=marker_dir, steps=silence_steps(**kw),  # type: ignore[arg-type]
                        extra=am_source(url, timeout))
    return write_profile(tmp_path, text)


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    d = tmp_path / "marks"
    d.mkdir()
    return d


def silenced_by(am: TestAlertmanager, name: str) -> list[str]:
    alert = am.alert(name)
    return list(alert["status"]["silencedBy"]) if alert else []


def types(entries: list[dict[str, object]]) -> list[object]:
    return [e["type"] for e in entries]


async def test_rollback_creates_extends_and_expires_the_silence(am: TestAlertmanager, tmp_path: Path,
                                                                marker_dir: Path) -> None:
    # a 4 s silence, extended when less than 3 s is left: the extension must come within a second
    profile = load_profile(make(tmp_path, marker_dir, am.url, duration="4s", margin="3s"))
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    try:
        result = await c.fire("silence")
        assert result.ok, result.reason
        sid = str(result.detail["silence_id"])
        # the firing alerts show as silenced through the API; DiskFull (not matched) still pages
        await apoll(lambda: sid in silenced_by(am, "HorizonPaused") and sid in silenced_by(am, "OctaneDown"),
                    what="the alerts to be silenced")
        assert silenced_by(am, "DiskFull") == []
        silence = am.silence(sid)
        assert silence is not None and silence["status"]["state"] == "active"
        assert silence["createdBy"] == c.driver.rpartition("@")[0]
        assert "engine-test" in silence["comment"] and c.journal.path.stem in silence["comment"]
        first_end = silence["endsAt"]
        # extended while the rollback runs, before it ends by itself
        await apoll(lambda: sum(1 for e in c.journal_entries() if e["type"] == "held_extended") >= 2,
                    what="two extensions")
        again = am.silence(sid)
        assert again is not None and again["endsAt"] > first_end and again["status"]["state"] == "active"
        opened = next(e["ts"] for e in c.journal_entries() if e["type"] == "held_opened")
        first_ext = next(e["ts"] for e in c.journal_entries() if e["type"] == "held_extended")
        assert first_ext - opened < 4.0                           # before its first end
        assert sid in silenced_by(am, "HorizonPaused")          # same id, still covering
        assert (await c.fire("finish")).ok                       # ends the rollback: the silence is expired
        await c.held.drain()                                     # type: ignore[union-attr]
        assert am.silence(sid)["status"]["state"] == "expired"   # type: ignore[index]
        assert silenced_by(am, "HorizonPaused") == []
    finally:
        await c.stop()
    entries = read_journal(c.journal.path)
    kinds = types(entries)
    assert kinds.index("held_opened") < next(i for i, e in enumerate(entries) if e["type"] == "step_end"
                                          and e["step"] == "silence")
    closed = [e for e in entries if e["type"] == "held_closed"]
    assert [(e["id"], e["how"]) for e in closed] == [(sid, "expired")]
    report = render_markdown(entries)
    assert "Held by the rollback" in report and "expired" in report and "LEFT OPEN" not in report


async def test_the_alerts_panel_shows_what_pages_and_what_the_silence_covers(am: TestAlertmanager, tmp_path: Path,
                                                                              marker_dir: Path) -> None:
    from cockpit.tui import present
    from widgets.alerts import split

    profile = load_profile(make(tmp_path, marker_dir, am.url, duration="10m", margin="1m"))
    c = Controller(profile)
    await c.start(connect=False, poll=True)
    try:
        def current() -> dict[str, float]:
            view = c.store.view("alerts", with_series=False)
            return dict(view.current) if view.last_ok else {}

        await apoll(lambda: current().get("HorizonPaused") == 1.0, what="the firing alert on the panel")
        before = present.panel_data(profile, profile.signal("alerts"), c.store.view("alerts"), c.now())
        assert split(before) == (["DiskFull", "HorizonPaused", "OctaneDown"], [])
        assert (await c.fire("silence")).ok
        await apoll(lambda: current().get("HorizonPaused") == 0.0 and current().get("OctaneDown") == 0.0,
                    what="the silenced state on the panel")
        after = present.panel_data(profile, profile.signal("alerts"), c.store.view("alerts"), c.now())
        assert split(after) == (["DiskFull"], ["HorizonPaused", "OctaneDown"])
    finally:
        await c.stop()


def test_kill_9_mid_rollback_then_resume_reconciles_the_silence(am: TestAlertmanager, tmp_path: Path,
                                                                marker_dir: Path) -> None:
    path = make(tmp_path, marker_dir, am.url, duration="30s", margin="26s")
    first = cockpit("run", "silence", "--profile", str(path))
    assert first.returncode == 0, first.stderr
    journal = next(iter(journals_dir().glob("*.jsonl")))
    opened = [e for e in read_journal(journal) if e["type"] == "held_opened"]
    sid = str(opened[0]["id"])
    assert sid in silenced_by(am, "HorizonPaused")
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "slow", "--profile", str(path)], cwd=REPO,
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the resumed driver found the silence in the journal, checked it, and keeps extending it
        wait_until(lambda: any(e["type"] == "held_checked" and e["id"] == sid for e in read_journal(journal)),
                   what="held_checked on resume")
        wait_until(lambda: any(e["type"] == "held_extended" for e in read_journal(journal)), timeout=30,
                   what="an extension by the second process")
        wait_until((marker_dir / "slow.pid").exists, what="the slow step to run")
        proc.kill()                                     # kill -9 mid-rollback
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    entries = read_journal(journal)
    assert "session_end" not in types(entries)[-3:] and am.silence(sid)["status"]["state"] == "active"  # type: ignore[index]
    assert "LEFT OPEN" in cockpit("report", str(journal)).stdout     # the report says a silence is held
    # the next driver resumes, reconciles, ends the rollback: the silence is expired
    last = cockpit("run", "finish", "--profile", str(path))
    assert last.returncode == 0, last.stderr
    assert am.silence(sid)["status"]["state"] == "expired"           # type: ignore[index]
    assert silenced_by(am, "HorizonPaused") == []
    after = read_journal(journal)
    tail = [e for e in after[len(entries):] if e["type"].startswith("held_")]
    assert [e["type"] for e in tail] == ["held_checked", "held_closed"], tail
    assert tail[1]["how"] == "expired" and tail[1]["id"] == sid
    report = cockpit("report", str(journal)).stdout
    assert "LEFT OPEN" not in report and "expired" in report


async def test_a_silence_expired_meanwhile_is_journalled_on_resume(am: TestAlertmanager, tmp_path: Path,
                                                                   marker_dir: Path) -> None:
    profile = load_profile(make(tmp_path, marker_dir, am.url, duration="10m", margin="1m"))
    c = Controller(profile)
    await c.start(connect=False, poll=False)
    result = await c.fire("silence")
    assert result.ok, result.reason
    sid = str(result.detail["silence_id"])
    await c.stop()                                  # the cockpit stops; the rollback has not ended
    am.expire(sid)                                  # someone expires it by hand meanwhile
    again = Controller(profile)
    await again.start(connect=False, poll=False)
    try:
        await apoll(lambda: any(e["type"] == "held_closed" for e in again.journal_entries()), what="reconcile")
        closed = [e for e in again.journal_entries() if e["type"] == "held_closed"]
        assert closed[0]["id"] == sid and closed[0]["how"] == "ended by itself"
        assert not again.held.open                                   # type: ignore[union-attr]
    finally:
        await again.stop()


def test_a_silence_left_open_is_named_in_the_report(am: TestAlertmanager, tmp_path: Path, marker_dir: Path) -> None:
    path = make(tmp_path, marker_dir, am.url, duration="10m", margin="1m")
    assert cockpit("run", "silence", "--profile", str(path)).returncode == 0
    journal = next(iter(journals_dir().glob("*.jsonl")))
    report = cockpit("report", str(journal))
    assert report.returncode == 0
    assert "LEFT OPEN" in report.stdout and "HorizonPaused" in report.stdout
    # abandoning the session expires it, and the report says so
    gone = cockpit("abandon", "--profile", str(path))
    assert gone.returncode == 0, gone.stderr
    sid = next(e["id"] for e in read_journal(journal) if e["type"] == "held_opened")
    assert am.silence(str(sid))["status"]["state"] == "expired"     # type: ignore[index]
    assert "closed" in gone.stdout
    report = cockpit("report", str(journal)).stdout
    assert "LEFT OPEN" not in report and "abandoned" in report


@pytest.mark.parametrize("failure", ["down", "500", "garbage", "hang"])
@pytest.mark.parametrize("required", [False, True])
async def test_a_failed_alertmanager_is_clear_and_does_not_block_the_rollback(
        tmp_path: Path, marker_dir: Path, failure: str, required: bool) -> None:
    with running_hostile() as srv:
        url = f"http://127.0.0.1:{free_port()}" if failure == "down" else srv.url()
        if failure == "500":
            srv.set("ok", body=b'{"code":500,"message":"boom"}', status=500)
        elif failure in ("garbage", "hang"):
            srv.set(failure)
        profile = load_profile(make(tmp_path, marker_dir, url, required=required, timeout="1s"))
        c = Controller(profile)
        await c.start(connect=False, poll=False)
        try:
            result = await c.fire("silence")
            after = await c.fire("pause")
            rows = {e["step"]: e for e in c.journal_entries() if e["type"] == "step_end"}
            from cockpit.tui import present

            row = present.step_row(profile, profile.step("silence"), c.session.steps["silence"])
        finally:
            await c.stop()
    assert result.state == "failed"
    reason = result.reason or ""
    expected = {"down": "connection refused", "500": "HTTP 500", "garbage": "not a silence id",
                "hang": "no answer within"}[failure]
    assert expected in reason and "Alertmanager (http://127.0.0.1:" in reason, reason
    assert "Traceback" not in reason
    assert rows["silence"]["state"] == "failed" and expected in rows["silence"]["reason"]
    assert row.state == "failed" and expected in row.detail        # the checklist row fails with the reason
    assert not any(e["type"] == "held_opened" for e in read_journal(c.journal.path))   # nothing half-held
    if required:
        assert after.state == "refused" and "waiting for silence" in (after.reason or "")
    else:
        assert after.ok, after.reason            # the rollback goes on
        assert "the rollback goes on" in reason


async def test_an_alertmanager_failing_mid_rollback_is_said_and_the_report_names_the_silence(
        tmp_path: Path, marker_dir: Path) -> None:
    with running_hostile() as srv:
        srv.set("ok", body=b'{"silenceID":"4b1c0a42-0000-4000-8000-00000000c0de"}')
        profile = load_profile(make(tmp_path, marker_dir, srv.url(), duration="30s", margin="28s"))
        c = Controller(profile)
        await c.start(connect=False, poll=False)
        try:
            assert (await c.fire("silence")).ok
            srv.set("ok", body=b'{"code":500,"message":"storage full"}', status=500)   # breaks mid-rollback
            await apoll(lambda: any(e["type"] == "held_failed" for e in c.journal_entries()), what="a failed extend")
            # retried with a backoff (1 s, 2 s, …), not at every half-second tick
            await apoll(lambda: sum(1 for e in c.journal_entries() if e["type"] == "held_failed") >= 2,
                        what="the retry")
            times = [e["ts"] for e in c.journal_entries() if e["type"] == "held_failed"]
            assert times[1] - times[0] >= 0.9
            assert (await c.fire("finish")).ok                       # the end: expiring fails too
            await c.held.drain()                                     # type: ignore[union-attr]
            notices = list(c.notices)
        finally:
            await c.stop()
    entries = read_journal(c.journal.path)
    failed = [(e["action"], e["reason"]) for e in entries if e["type"] == "held_failed"]
    assert failed[0][0] == "extend" and "HTTP 500" in failed[0][1] and "storage full" in failed[0][1]
    assert ("close" in [a for a, _ in failed]) and not any(e["type"] == "held_closed" for e in entries)
    assert any("extend failed" in n and "HTTP 500" in n for n in notices)     # said, not only journalled
    report = render_markdown(entries)
    assert "LEFT OPEN" in report and "close failed" in report, report       # never left behind unsaid
