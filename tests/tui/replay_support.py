"""A recorded incident built by the real engine parts (Journal, Recorder), at chosen times.

The journal and its recordings are written exactly as a driver writes them (`Journal.append`,
`Recorder.begin`/`write`/`close`, `SamplesFile.record`), with a clock the test sets, so the
replay tests know what was on screen at each instant."""

from __future__ import annotations

from pathlib import Path

from cockpit.journal import Journal, session_start_fields
from cockpit.profile.model import Profile
from cockpit.recording import Recorder

T0 = 1_764_324_000.0   # 2025-11-28 10:00:00 UTC


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def record_incident(profile: Profile) -> Path:
    """10:00 start; samples every 5 s; 10:01 rollback; horizon-pause 10:01:10-10:01:14 with output on
    both workers; queues check failing -> ok at 10:02; fpm-flag starts at 10:02:30 and is still running."""
    clock = Clock(T0)
    j = Journal.create(profile, now=clock)
    rec = Recorder.beside(j.path)
    j.append("session_start", **session_start_fields(profile, "driver", "deploy", "bastion-1"))
    workers = list(profile.hosts["workers"])
    web = list(profile.hosts["web"])

    def sample(t: float) -> None:
        clock.t = t
        depth = 900.0 if t < T0 + 100 else 40.0
        rec.samples.record(t, "queues", {"feed": depth, "notifications": depth / 3, "search-index": 7.0})
        rec.samples.record(t, "http_5xx", {"": 0.03 if t < T0 + 90 else 0.0002})

    for i in range(0, 60, 5):
        sample(T0 + i)
    clock.t = T0 + 60
    j.append("rollback_start", by="deploy@bastion-1")
    for i in range(60, 70, 5):
        sample(T0 + i)
    clock.t = T0 + 70
    run = rec.begin("horizon-pause", clock.t)
    assert run is not None
    j.append("step_start", step="horizon-pause", hosts=workers, recording=run.rel, by="deploy@bastion-1")
    for n, host in enumerate(workers):
        run.write(host, f"Horizon paused on {host}.", T0 + 71 + n)
    run.write(workers[0], "second line", T0 + 73)
    clock.t = T0 + 74
    j.append("step_end", step="horizon-pause", state="ok", started=T0 + 70, duration=4.0,
             hosts=[{"host": h, "state": "ok", "exit_status": 0, "duration": 3.0, "tail": ["tail only"]}
                    for h in workers], recordings=run.close())
    for i in range(75, 150, 5):
        sample(T0 + i)
        if i == 120:
            j.append("check_transition", check="queues", title="Queue depth", to="ok", reason="feed=40 (< 100)",
                     values={"feed": 40.0}, **{"from": "failing"})
    clock.t = T0 + 150
    run2 = rec.begin("fpm-flag", clock.t)
    assert run2 is not None
    j.append("step_start", step="fpm-flag", hosts=web, recording=run2.rel, by="deploy@bastion-1")
    run2.write(web[0], "OCTANE_ENABLED=false", T0 + 151)
    sample(T0 + 155)
    j.close()
    return j.path
