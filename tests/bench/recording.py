"""Recording overhead: bytes per minute of a busy step, and the CPU the recording costs.

    .venv/bin/python tests/bench/recording.py [--seconds 5] [--rate 200]

Starts a real sshd on loopback (web-1, web-2) and drives a `Controller` in this process:

1. a *busy* step: each host prints ``--rate`` lines a second of a typical deploy log line
   (~90 bytes) for ``--seconds``: the bytes recorded, extrapolated per minute and host;
2. a *flood*: each host prints lines as fast as it can for ``--seconds``, run once with
   recording and once without (the recorder switched off), caps raised so nothing is cut:
   lines received, the process CPU time (``time.process_time``) with and without, and the
   recording's CPU per line;
3. `StepRecording.write` alone on 200 000 lines: microseconds per line.

Prints figures; not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cockpit import recording  # noqa: E402
from cockpit.controller import Controller  # noqa: E402
from cockpit.profile.load import load_profile  # noqa: E402
from tests.engine.conftest import profile_text  # noqa: E402
from tests.support.sshd import running_sshd  # noqa: E402

DEFAULT_CAP = recording.MAX_HOST_BYTES
HOSTS = {"web-1": "127.0.1.1", "web-2": "127.0.1.2"}
LINE = "[2026-12-01 12:03:04] production.INFO: Migrating: 2026_11_30_000000_add_index_to_orders_table (12.3ms)"
STEPS = """
[[step]]
id = "busy"
title = "A busy step"
phase = "prepare"
hosts = "web"
confirm = "none"
timeout = "600s"
command = '''python3 -c "import time
end = time.time() + SECONDS
n = 0
while time.time() < end:
    print('LINE', n, flush=True); n += 1
    time.sleep(max(0.0, n / RATE - (time.time() - end + SECONDS)))"'''

[[step]]
id = "flood"
title = "As fast as it can"
phase = "prepare"
hosts = "web"
confirm = "none"
timeout = "600s"
command = '''timeout SECONDS sh -c 'while :; do echo "LINE"; done'; true'''
"""


async def fire(profile_path: Path, step: str, record: bool) -> tuple[int, float, float, int]:
    """(lines received, CPU seconds of this process, wall seconds, bytes recorded)."""
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(dir=profile_path.parent)   # a new incident per run
    c = Controller(load_profile(profile_path))
    if not record:
        c._open_recorder = lambda: None   # type: ignore[method-assign]
    lines = [0]
    c.on_output(lambda line: lines.__setitem__(0, lines[0] + 1))
    await c.start(connect=True, poll=False)
    try:
        cpu0, wall0 = time.process_time(), time.monotonic()
        result = await c.fire(step, yes=True)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    finally:
        await c.stop()
    assert result.ok, result.reason
    folder = recording.folder_for(c.journal.path) if c.journal else None
    size = sum(p.stat().st_size for p in folder.glob("*/*.cast")) if folder and folder.exists() else 0
    return lines[0], cpu, wall, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=200.0)
    args = ap.parse_args()
    recording.MAX_HOST_BYTES = recording.MAX_INCIDENT_BYTES = 1 << 40    # measure, do not cut
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with running_sshd(work / "sshd", HOSTS) as sshd:
            marks = work / "marks"
            marks.mkdir()
            profile = work / "bench.toml"
            steps = (STEPS.replace("SECONDS", f"{args.seconds:g}").replace("RATE", f"{args.rate:g}")
                     .replace("LINE", LINE))
            profile.write_text(profile_text(ssh=sshd, marker_dir=marks, steps=steps))

            lines, cpu, wall, size = asyncio.run(fire(profile, "busy", True))
            per_min = size / args.seconds * 60 / len(HOSTS)     # over the seconds the step printed
            print(f"busy step: {args.rate:g} lines/s per host for {args.seconds:g}s on {len(HOSTS)} hosts: "
                  f"{lines} lines, {size} bytes recorded = {per_min / 1e6:.2f} MB per minute per host "
                  f"(cap {DEFAULT_CAP >> 20} MiB per host: "
                  f"{(DEFAULT_CAP / per_min):.1f} min of such output)")

            runs = {}
            for record in (False, True, False, True):
                lines, cpu, wall, size = asyncio.run(fire(profile, "flood", record))
                runs.setdefault(record, []).append((lines, cpu, wall, size))
            for record in (False, True):
                for lines, cpu, wall, size in runs[record]:
                    print(f"flood {'with' if record else 'without'} recording: {lines} lines in {wall:.1f}s, "
                          f"CPU {cpu:.2f}s = {cpu / max(lines, 1) * 1e6:.1f} µs/line, recorded {size} bytes")
            per_line = {r: sum(x[1] for x in v) / max(sum(x[0] for x in v), 1) for r, v in runs.items()}
            cost = per_line[True] - per_line[False]
            print(f"flood: recording costs {cost * 1e6:.1f} µs CPU per line "
                  f"({(per_line[True] / per_line[False] - 1) * 100:+.0f}% of the cockpit's CPU per line); "
                  f"at the busy step's {args.rate * len(HOSTS):g} lines/s: {cost * args.rate * len(HOSTS) * 100:.2f}% "
                  "of one core")

        rec = recording.Recorder(work / "alone.rec")
        step = rec.begin("alone", time.time())
        assert step is not None
        n = 200_000
        cpu0 = time.process_time()
        for _ in range(n):
            step.write("web-1", LINE, time.time())
        cpu = time.process_time() - cpu0
        step.close()
        print(f"StepRecording.write alone: {cpu / n * 1e6:.1f} µs CPU per line ({n} lines, "
              f"{(work / 'alone.rec').stat().st_size and sum(p.stat().st_size for p in (work / 'alone.rec').glob('*/*'))} bytes)")


if __name__ == "__main__":
    main()
