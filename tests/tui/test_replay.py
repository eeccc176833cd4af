"""#16: `cockpit replay` shows what the live screen showed, from the journal, samples and recordings.

The live side is the demo's real stack driven by keys (as in test_demo_rollback); the replay side is
the same app on a `ReplayFeed` of the journal it left. Missing and truncated recordings are made by
deleting and cutting the files the real recorder wrote.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from cockpit.recording import folder_for
from cockpit.replay import ReplayFeed, load_incident
from cockpit.tui.app import CockpitApp
from cockpit.tui.replay import ReplayApp
from cockpit.tui.scenes import academy_profile
from cockpit.tui.screens import YesNoScreen
from tests.tui.conftest import until
from tests.tui.replay_support import T0, record_incident
from tests.tui.screen_text import screen_text
from tests.tui.test_demo_rollback import SIZE, check_status, cockpit_on_demo, confirm_step


def shown(app: CockpitApp) -> dict[str, Any]:
    """What the screen draws now: every panel's values and staleness, every row's state, the RTO start."""
    return {
        "panels": {sid: (p.data.latest() if p.data else None, p.data.stale_since is not None if p.data else None)
                   for sid, p in app.panels.items()},
        "steps": {r.step_id: r.state for r in app.checklist.steps},
        "checks": {r.check_id: r.status for r in app.checklist.checks},
        "rto": app.header.info.rollback_started if app.header.info else None,
    }


def capture(app: CockpitApp) -> tuple[float, dict[str, Any]]:
    """The instant and what the live screen draws at it (redrawn synchronously: nothing runs in between)."""
    t = time.time()
    app.refresh_checks()
    app.refresh_panels()
    app.refresh_steps()
    app._clock_tick()
    return t, shown(app)


async def test_replay_shows_the_panels_and_checklist_the_live_screen_showed() -> None:
    captured: list[tuple[float, dict[str, Any]]] = []
    output: list[str] = []
    async with cockpit_on_demo(speed=80) as (stack, controller, app, pilot):
        profile = stack.profile
        await until(lambda: all(check_status(controller).get(c) == "failing" for c in ("queues", "http_5xx")),
                    timeout=20, what="the incident's checks failing")
        captured.append(capture(app))
        await pilot.press("r")
        await until(lambda: isinstance(app.screen, YesNoScreen), what="start-rollback confirmation")
        await pilot.press("enter")
        await until(lambda: controller.session.rollback_started is not None, what="rollback started")
        captured.append(capture(app))
        ends = next(s.id for s in profile.steps if s.ends_rollback)
        for step in profile.steps:     # the runbook in order, up to announcing the end
            if step.id == ends:
                break
            await confirm_step(app, pilot, step.id)
            await until(lambda s=step.id: controller.step_state(s) == "ok", timeout=30, what=f"{step.id} ok")
            await pilot.pause()
            captured.append(capture(app))
        await until(lambda: all(v == "ok" for v in check_status(controller).values()), timeout=60,
                    what="every check ok")
        await pilot.pause()
        captured.append(capture(app))
        output = list(app.log_pane.plain_lines())
        journal = controller.journal.path
        await pilot.press("q")
        await until(lambda: app.stopped, what="quit")

    # the live run went somewhere: states changed between the instants compared
    assert len({repr(c[1]["steps"]) for c in captured}) >= 5
    assert len({repr(c[1]["checks"]) for c in captured}) >= 2
    assert len({repr(c[1]["panels"]) for c in captured}) >= len(captured) // 2
    assert any("Horizon" in line for line in output), output

    incident = load_incident(journal)
    assert incident.missing == [], incident.missing
    before = journal.read_bytes()
    replay = ReplayApp(profile, ReplayFeed(profile, incident), paused=True)
    async with replay.run_test(size=SIZE) as pilot:
        for t, live in captured:
            replay.seek(t)
            await pilot.pause()
            assert shown(replay) == live, time.strftime("%H:%M:%S", time.gmtime(t))
        replay.seek(captured[-1][0])
        await until(lambda: replay.log_pane.plain_lines() == output, what="the output pane as it was live")
        await pilot.press("q")
    assert journal.read_bytes() == before        # a replay writes nothing
    assert len(list(journal.parent.glob("*.jsonl"))) == 1


async def _replayed(path: Path, at: float | None = None) -> tuple[str, ReplayApp, list[str]]:
    profile = academy_profile()
    app = ReplayApp(profile, ReplayFeed(profile, load_incident(path)), paused=True)
    async with app.run_test(size=(160, 44)) as pilot:
        app.seek(T0 + 152 if at is None else at)
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        lines = app.log_pane.plain_lines()
        await pilot.press("q")
    return text, app, lines


async def test_replay_with_recordings_and_samples_deleted_still_shows_the_journal_and_says_so() -> None:
    path = record_incident(academy_profile())
    rec = folder_for(path)
    text, app, lines = await _replayed(path)
    assert "missing:" not in text and app.replay.incident.missing == []
    assert any("Horizon paused on worker-2" in line for line in lines)
    assert "40" in text     # the queue panel drew the recorded samples

    for cast in rec.glob("01-horizon-pause/*.cast"):
        if "worker-2" in cast.name:
            cast.unlink()
    (rec / "samples.jsonl").unlink()
    text, app, lines = await _replayed(path)
    missing = app.replay.incident.missing
    assert any("samples.jsonl: missing" in m for m in missing), missing
    assert any("worker-2" in m and "missing" in m for m in missing), missing
    assert "missing: " in text and "samples.jsonl" in text, text
    assert any(n.severity == "warning" and "missing from the recording" in n.message for n in app.notices)
    # the checklist still comes from the journal; the deleted host's output from its journalled tail
    assert app.checklist.steps and {r.step_id: r.state for r in app.checklist.steps}["horizon-pause"] == "ok"
    assert any("Horizon paused on worker-1" in line for line in lines), lines
    assert any(line.startswith("worker-2") and "tail only" in line for line in lines), lines
    assert all(p.data is not None and p.data.latest() == {} for p in app.panels.values())

    import shutil

    shutil.rmtree(rec)
    text, app, lines = await _replayed(path)
    assert any("recordings folder" in m for m in app.replay.incident.missing)
    assert {r.step_id: r.state for r in app.checklist.steps}["fpm-flag"] == "running"
    assert any("tail only" in line for line in lines), lines


async def test_replay_of_truncated_recordings_samples_and_journal_says_what_is_cut() -> None:
    path = record_incident(academy_profile())
    rec = folder_for(path)
    cast = next(rec.glob("01-horizon-pause/worker-1*.cast"))
    data = cast.read_bytes()
    cast.write_bytes(data[: data.rindex(b"second line") + 3])          # cut inside the last event
    samples = rec / "samples.jsonl"
    raw = samples.read_bytes()
    samples.write_bytes(raw[: len(raw) // 3 + 7])                       # a copy cut short, mid-line
    with path.open("ab") as f:
        f.write(b'{"ts": 1764324160, "type": "step_e')                 # a crash mid-write
    text, app, lines = await _replayed(path)
    missing = app.replay.incident.missing
    assert any("worker-1" in m and "truncated" in m for m in missing), missing
    assert any("samples.jsonl: 1 damaged line" in m for m in missing), missing
    assert any("samples end at" in m for m in missing), missing
    assert any("journal:" in m and "cut" in m for m in missing), missing
    assert "missing: " in text
    assert any("Horizon paused on worker-1" in line for line in lines)   # what was whole is shown
    assert not any("second line" in line for line in lines)


async def test_replay_keys_pause_speed_and_jump_between_events_and_nothing_can_fire(tmp_path: Path) -> None:
    profile = academy_profile()
    path = record_incident(profile)
    before = path.read_bytes()
    lock_dir = Path(os.environ["XDG_STATE_HOME"]) / "cockpit" / "locks"
    locks_before = sorted(lock_dir.iterdir()) if lock_dir.exists() else []
    ticks = [0.0]
    app = ReplayApp(profile, ReplayFeed(profile, load_incident(path)), paused=True, speed=10,
                    monotonic=lambda: ticks[0])
    async with app.run_test(size=(160, 44)) as pilot:
        assert app.replay.position == T0
        await pilot.press("right")
        assert app.replay.position == T0 + 60                 # rollback_start
        await pilot.press("right")
        assert app.replay.position == T0 + 70                 # horizon-pause starts
        await pilot.press("right")
        await until(lambda: any("Horizon paused on worker-1" in x for x in app.log_pane.plain_lines()),
                    what="the first output line")
        assert app.replay.position == T0 + 71
        await pilot.press("end")
        await until(lambda: any("OCTANE" in x for x in app.log_pane.plain_lines()), what="output at the end")
        await pilot.press("left")
        assert app.replay.position == T0 + 151                # fpm-flag's first output line
        await pilot.press("left")
        assert app.replay.position == T0 + 150
        await pilot.pause()
        assert not any("OCTANE" in x for x in app.log_pane.plain_lines())   # jumped back: not yet printed
        assert any("Horizon paused on worker-2" in x for x in app.log_pane.plain_lines())
        await pilot.press("home")
        assert app.replay.position == T0 and app.log_pane.plain_lines() == []
        await pilot.press("plus")
        assert app.speed == 30
        await pilot.press("minus", "minus")
        assert app.speed == 5
        await pilot.press("space")
        assert app.playing
        for _ in range(3):                                    # 1 s of the app's clock at 5x: 5 s of the incident
            ticks[0] += 1 / 3
            await until(lambda n=_: app.replay.position >= T0 + 5 * (n + 1) / 3 - 0.01, what="played")
        assert abs(app.replay.position - (T0 + 5)) < 0.01
        await pilot.press("space")
        assert not app.playing
        # nothing can be fired, ticked, started or cancelled: the keys say so and do nothing
        for key in ("p", "r", "4", "ctrl+k"):
            await pilot.press(key)
        await pilot.pause()
        assert len(app.screen_stack) == 1
        assert any("read-only" in n.message for n in app.notices)
        assert app.controller is None
        await pilot.press("q")
    assert path.read_bytes() == before
    assert (sorted(lock_dir.iterdir()) if lock_dir.exists() else []) == locks_before


def test_cockpit_replay_plays_on_a_pty_and_quits(tmp_path: Path) -> None:
    """The command as users run it: `cockpit replay JOURNAL --speed 60 --at 10:01` on a real terminal."""
    import subprocess
    import sys

    from tests.tui.ptyrun import spawn
    from tests.tui.test_command import REPO, wait_for

    path = record_incident(academy_profile())          # the journal names the bundled academy profile
    before = path.read_bytes()
    (folder_for(path) / "samples.jsonl").unlink()       # and one thing is missing: said on stderr and screen
    ready = tmp_path / "ready"
    p = spawn([sys.executable, "-m", "cockpit", "replay", str(path), "--speed", "60", "--at", "10:01"],
              env={"COCKPIT_BENCH_READY_FILE": str(ready)}, cwd=str(REPO), cols=160, rows=44)
    try:
        wait_for(ready.exists, 45, "the first full screen")
        wait_for(lambda: "REPLAY 60×" in p.text(), 30, "the replay bar")
        wait_for(lambda: "Horizon paused on worker-1" in p.text(), 30, "the recorded output, played")
        assert "samples.jsonl" in p.text()
        p.send(b"q")
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
    assert "Traceback" not in p.text()
    assert "cockpit replay: missing: samples.jsonl: missing" in p.text()
    assert path.read_bytes() == before
    r = subprocess.run([sys.executable, "-m", "cockpit", "replay", str(path)], capture_output=True, text=True,
                       timeout=60, check=False, cwd=REPO, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "needs a terminal" in r.stderr and "Traceback" not in r.stderr
