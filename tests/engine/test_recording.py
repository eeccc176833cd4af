"""#16.1: every step's output per host is recorded as asciicast v2 beside the journal, bounded and redacted.

Real sshd on loopback; the recordings are read back with ``asciinema cat`` (the real player)."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
from pathlib import Path

from cockpit import recording
from cockpit.controller import Controller
from cockpit.journal import read_journal
from cockpit.recording import folder_for, read_samples

ENDLESS = """
[[step]]
id = "endless"
title = "Endless output on every web host"
phase = "rollback"
hosts = "web"
confirm = "none"
timeout = "60s"
command = "case $SSH_CONNECTION in *127.0.1.2*) sleep 2;; esac; printf '\\\\033[31mred\\\\033[0m s3cr3t-token-9f8e7d6c\\\\n'; while :; do echo line-$$-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done"
"""

SECRET = "s3cr3t-token-9f8e7d6c"
EXTRA = """
[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9/"
headers = { Authorization = "Bearer ${env:W16_TOKEN}" }
"""


def cast_events(path: Path) -> tuple[dict, list[list]]:
    lines = path.read_text().splitlines()
    return json.loads(lines[0]), [json.loads(x) for x in lines[1:]]


async def test_endless_output_is_recorded_up_to_the_host_cap(sshd, make_profile, monkeypatch) -> None:
    monkeypatch.setenv("W16_TOKEN", SECRET)
    monkeypatch.setattr(recording, "MAX_HOST_BYTES", 40 * 1024)
    monkeypatch.setattr(recording, "MAX_INCIDENT_BYTES", 60 * 1024)
    c = Controller(make_profile(ssh=sshd, steps=ENDLESS, extra=EXTRA))
    await c.start(connect=True, poll=False)
    try:
        fired = asyncio.create_task(c.fire("endless"))
        folder = folder_for(c.journal.path)
        async with asyncio.timeout(60):   # until both hosts' recordings stopped at a cap
            while True:
                casts = sorted(folder.glob("*/*.cast"))
                texts = [p.read_text() for p in casts]
                if len(casts) == 2 and all("(truncated" in t for t in texts):
                    break
                await asyncio.sleep(0.05)
        c.cancel("endless")
        result = await fired
    finally:
        await c.stop()
    assert result.state == "cancelled"
    sizes = {p.name: p.stat().st_size for p in casts}
    assert set(sizes) == {"web-1.cast", "web-2.cast"}
    # web-1 (prints at once) stops at its own cap, web-2 (2 s later) at what is left of the incident's
    assert sum(sizes.values()) <= 60 * 1024 + 2 * 512, sizes
    assert 39 * 1024 < sizes["web-1.cast"] <= 40 * 1024 + 512, sizes
    reasons = {p.name: cast_events(p)[1][-1][2] for p in casts}
    assert "this host's recording reached its cap of 40960 bytes" in reasons["web-1.cast"], reasons
    assert "the incident's recordings reached their cap of 61440 bytes" in reasons["web-2.cast"], reasons
    for p in casts:
        header, events = cast_events(p)
        assert header["version"] == 2 and header["width"] > 0
        assert events[0][1:] == ["o", "\x1b[31mred\x1b[0m [redacted]\r\n"], events[0]   # escapes as produced
        assert SECRET not in p.read_text()
        times = [e[0] for e in events]
        assert times == sorted(times)
        # the real player accepts it (`asciinema cat` wants a terminal: `script` gives it one)
        played = subprocess.run(["script", "-qec", f"asciinema cat {p}", "/dev/null"], capture_output=True,
                                timeout=30, check=True, stdin=subprocess.DEVNULL)
        assert b"\x1b[31mred" in played.stdout and b"line-" in played.stdout and b"(truncated" in played.stdout
        assert SECRET.encode() not in played.stdout
    entries = read_journal(c.journal.path)
    start = next(e for e in entries if e["type"] == "step_start")
    end = next(e for e in entries if e["type"] == "step_end")
    assert start["recording"] == f"{folder.name}/01-endless"
    recs = {r["host"]: r for r in end["recordings"]}
    assert set(recs) == {"web-1", "web-2"}
    for host, r in recs.items():
        path = c.journal.path.parent / r["path"]
        assert path.stat().st_size == r["bytes"] and r["truncated"] is True and r["error"] is None, (host, r)
    assert SECRET not in c.journal.path.read_text()


def test_samples_file_stays_under_its_cap_and_keeps_recent_points_whole(tmp_path: Path) -> None:
    rec = recording.Recorder(tmp_path / "x.rec", max_samples_bytes=20_000)
    for i in range(3000):
        rec.samples.record(1000.0 + i, "errors" if i % 2 else "latency", {"p95": float(i), "nan": float("nan")})
    size = (tmp_path / "x.rec" / "samples.jsonl").stat().st_size
    assert size <= 20_000
    samples = read_samples(tmp_path / "x.rec" / "samples.jsonl")
    ts = [s["ts"] for s in samples]
    assert ts == sorted(ts) and ts[-1] == 3999.0 and ts[0] < 2500   # older points kept, thinned
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    assert gaps[-1] == 1.0 and max(gaps) > 1.0                       # newest at full resolution
    assert {s["signal"] for s in samples} == {"errors", "latency"}
    assert all(s["values"] == {"p95": s["values"]["p95"]} for s in samples)   # NaN is not a point


def test_names_from_outside_stay_inside_the_folder() -> None:
    assert recording.safe_name("web-1") == "web-1"
    odd = recording.safe_name("../../etc/passwd")
    assert "/" not in odd and not odd.startswith(".")
    assert recording.safe_name("a/b") != recording.safe_name("a_b")


def test_reading_samples_of_a_missing_or_damaged_file(tmp_path: Path) -> None:
    assert read_samples(tmp_path / "none.jsonl") == []
    p = tmp_path / "bad.jsonl"
    p.write_text('{"ts": 1, "signal": "a", "values": {"x": 1}}\nnot json\n{"ts": "x"}\n{"ts": 2, "signal": "a"')
    assert [s["ts"] for s in read_samples(p)] == [1]


async def test_a_rollback_records_every_step_run_and_host(sshd, make_profile) -> None:
    c = Controller(make_profile(ssh=sshd))
    await c.start(connect=True, poll=False)
    try:
        assert (await c.fire("touch", yes=True)).ok
        assert (await c.fire("touch", yes=True)).ok          # fired twice: two runs, two folders
        assert (await c.fire("finish", yes=True)).ok
    finally:
        await c.stop()
    entries = read_journal(c.journal.path)
    ends = [e for e in entries if e["type"] == "step_end"]
    assert [e["step"] for e in ends] == ["touch", "touch", "finish"]
    root = c.journal.path.parent
    runs = [sorted(r["path"] for r in e["recordings"]) for e in ends]
    rec = folder_for(c.journal.path).name
    assert runs[0] == [f"{rec}/01-touch/web-1.cast", f"{rec}/01-touch/web-2.cast"]
    assert runs[1] == [f"{rec}/02-touch/web-1.cast", f"{rec}/02-touch/web-2.cast"]
    assert len(runs[2]) == 1 and runs[2][0].startswith(f"{rec}/01-finish/")
    for path in [p for run in runs for p in run]:
        header, events = cast_events(root / path)
        assert header["version"] == 2
        assert any(e[2] in ("touched\r\n", "done\r\n") for e in events), events
    assert oct((root / rec).stat().st_mode & 0o777) == "0o700"
