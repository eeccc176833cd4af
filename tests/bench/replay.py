"""`cockpit replay` on a long incident: how long loading and seeking take, and the memory it holds.

    .venv/bin/python tests/bench/replay.py [--minutes 60] [--lines 100000]

Writes an incident with the real Journal and Recorder (the bundled Academy profile): ``--minutes``
of samples of every signal every 5 s, a step run per minute on every web host sharing ``--lines``
output lines, a check transition per minute. Then: `load_incident` time, a `ReplayFeed`'s seek
forward through the whole incident in 1,000 steps (what playing does), a jump back to the middle
(a rebuild from the start), and the peak memory (tracemalloc) of the loaded incident.

Prints figures; not a timed test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--lines", type=int, default=100_000)
    args = ap.parse_args()
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="bench-replay-")
    from cockpit.journal import Journal, session_start_fields
    from cockpit.recording import Recorder
    from cockpit.replay import ReplayFeed, load_incident
    from cockpit.tui.scenes import academy_profile, samples

    profile = academy_profile()
    t0 = 1_764_324_000.0
    clock = [t0]
    j = Journal.create(profile, now=lambda: clock[0])
    rec = Recorder.beside(j.path)
    j.append("session_start", **session_start_fields(profile, "driver", "deploy", "bastion-1"))
    j.append("rollback_start")
    web = list(profile.hosts["web"])
    per_run = max(1, args.lines // (args.minutes * len(web)))
    for minute in range(args.minutes):
        base = t0 + 60 * minute
        for s in range(12):
            for signal, values in samples(base + 5 * s, t0, False).items():
                rec.samples.record(base + 5 * s, signal, values)
        clock[0] = base + 1
        run = rec.begin("fpm-reload", clock[0])
        assert run is not None
        j.append("step_start", step="fpm-reload", hosts=web, recording=run.rel)
        for n in range(per_run):
            for host in web:
                run.write(host, f"line {n} of minute {minute}: Reloading PHP 8.2 FastCGI Process Manager",
                          clock[0] + 30 * n / per_run)
        clock[0] = base + 40
        j.append("step_end", step="fpm-reload", state="ok", started=base + 1, duration=39.0, hosts=[],
                 recordings=run.close())
        j.append("check_transition", check="queues", to="failing" if minute % 2 else "ok", reason="x",
                 **{"from": "ok" if minute % 2 else "failing"})
    j.close()
    size = sum(p.stat().st_size for p in j.path.parent.rglob("*") if p.is_file())
    print(f"incident: {args.minutes} min, {per_run * args.minutes * len(web)} output lines, "
          f"{size / 1e6:.1f} MB on disk (journal + recordings + samples)")

    t = time.perf_counter()
    incident = load_incident(j.path)
    load = time.perf_counter() - t
    tracemalloc.start()
    load_incident(j.path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"load_incident: {load:.2f} s, {len(incident.output)} lines, {len(incident.samples)} samples, "
          f"peak {peak / 1e6:.0f} MB (tracemalloc, a second load), missing: {incident.missing or 'nothing'}")
    feed = ReplayFeed(profile, incident)
    events = [0]
    feed.subscribe(lambda e: events.__setitem__(0, events[0] + 1))
    span = incident.end - incident.start
    t = time.perf_counter()
    for i in range(1, 1001):
        feed.seek(incident.start + span * i / 1000)
    fwd = time.perf_counter() - t
    print(f"seek forward through it in 1,000 steps: {fwd:.2f} s ({fwd:.3f} ms per step), "
          f"{events[0]} events told")
    t = time.perf_counter()
    feed.seek(incident.start + span / 2)
    print(f"jump back to the middle (rebuilt from the start): {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
