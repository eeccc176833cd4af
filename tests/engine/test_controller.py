"""Controller lifecycle: start is fast, stop mid-step journals the cancel, progress is visible."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cockpit.controller import Controller
from cockpit.journal import read_journal
from tests.engine.conftest import cockpit

SLOW = """
[[step]]
id = "slow-web"
title = "Slow on web-1, quick on web-2"
phase = "rollback"
hosts = "web"
confirm = "none"
command = "case $SSH_CONNECTION in *127.0.1.1*) echo $$ > {marks}/slow.pid; sleep 30;; esac; echo quick"
"""


async def test_stop_mid_step_cancels_and_journals(sshd, make_profile, marker_dir: Path) -> None:
    c = Controller(make_profile(ssh=sshd, steps=SLOW))
    t0 = time.monotonic()
    await c.start(connect=True, poll=True)
    assert time.monotonic() - t0 < 2.0          # the network happens in the background (loose: loaded CI)
    steps: list[tuple[str, object]] = []
    c.on_step(lambda sid, res: steps.append((sid, res)))
    fired = asyncio.create_task(c.fire("slow-web"))
    async with asyncio.timeout(30):
        while not (c.running.get("slow-web") and c.running["slow-web"].progress == (1, 2)
                   and (marker_dir / "slow.pid").exists()):
            await asyncio.sleep(0.02)
    assert c.step_state("slow-web") == "running"
    assert (marker_dir / "slow.pid").exists()
    await c.stop()
    result = await fired
    assert result.state == "cancelled"
    assert {h.host: h.state for h in result.hosts} == {"web-1": "cancelled", "web-2": "ok"}
    entries = read_journal(c.journal.path)
    types = [e["type"] for e in entries]
    assert types.index("step_end") < types.index("session_end") == len(types) - 1
    end = entries[types.index("step_end")]
    assert end["state"] == "cancelled"
    assert steps[-1][0] == "slow-web" and getattr(steps[-1][1], "state", None) == "cancelled"
    assert not c.lock.held


def test_unwritable_state_dir_is_a_message(tmp_path: Path, make_profile) -> None:
    profile = make_profile()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    r = cockpit("run", "prepare", "--profile", profile.path, env={"XDG_STATE_HOME": str(blocker)})
    assert r.returncode != 0 and "Traceback" not in r.stderr and "not-a-dir" in r.stderr


async def test_no_secret_from_notes_output_or_headers(make_profile, monkeypatch) -> None:
    secret = "hdr-token-5e4d3c2b1a"
    monkeypatch.setenv("PROM_TOKEN", secret)
    extra = """
[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9/"
headers = { Authorization = "Bearer ${env:PROM_TOKEN}" }
"""
    steps = """
[[step]]
id = "print-env"
title = "Prints the token from the environment"
phase = "validate"
kind = "local"
confirm = "none"
command = "echo token=$PROM_TOKEN"

[[step]]
id = "by-hand"
title = "Manual"
phase = "validate"
kind = "manual"
confirm = "none"
"""
    c = Controller(make_profile(extra=extra, steps=steps))
    shown: list[str] = []
    c.on_output(lambda line: shown.append(line.text))
    await c.start(connect=False, poll=False)
    try:
        result = await c.fire("print-env", note=f"pasted {secret} by mistake")
        assert result.ok
        assert c.tick_manual("by-hand", f"token was {secret}").allowed
    finally:
        await c.stop()
    raw = c.journal.path.read_text()
    assert secret not in raw and secret not in "".join(shown)
    assert "token=[redacted]" in raw and "pasted [redacted] by mistake" in raw and "token was [redacted]" in raw


async def test_the_step_that_ends_the_rollback_announces_its_end_time(make_profile, tmp_path) -> None:
    (tmp_path / "end.md").write_text("Subject: rolled back\n\nEnded at {ended} after {rto_elapsed}.\n")
    steps = f"""
[[step]]
id = "announce-end"
title = "Email: rollback ended"
phase = "communicate"
kind = "email"
confirm = "none"
ends_rollback = true
[step.email]
template = "end.md"
to = ["cs@example.invalid"]
from = "cockpit@example.invalid"
outbox = "{tmp_path / 'outbox.eml'}"
"""
    clock = [1_800_000_000.0]
    c = Controller(make_profile(steps=steps), now=lambda: clock[0])
    await c.start(connect=False, poll=False)
    try:
        assert c.start_rollback()
        clock[0] += 300
        assert "(not started)" not in await c.preview("announce-end")
        assert (await c.fire("announce-end")).ok
        assert c.session.rollback_ended == clock[0]
    finally:
        await c.stop()
    sent = (tmp_path / "outbox.eml").read_text()
    assert "Ended at 2027-01-15 08:05:00 UTC after 5m00s." in sent
