"""The gate between two batches of a rollout: named checks holding on live data for N fresh samples.

A check's state alone is not enough: right after a batch, the last verdict may rest on a
sample taken before the batch changed anything. The gate counts only samples that
arrive after it opened (the signal's live sample counter moved) on which the check was
``ok``; any other verdict (failing, unknown, stale) starts the count again. It passes
when every named check has ``samples`` such samples in a row, and fails at ``timeout``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.durations import format_duration
from cockpit.profile.model import GateSpec

POLL = 0.1


@dataclass(frozen=True)
class CheckReading:
    status: str  # the check's state: ok, failing, unknown, pending, missed
    seq: int  # live samples of its signal so far
    reason: str = ""


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    waited: float
    reason: str


async def wait_gate(
    spec: GateSpec,
    read: Callable[[str], CheckReading],
    *,
    poll: float = POLL,
    clock: Callable[[], float] = time.monotonic,
) -> GateOutcome:
    """Wait until every check of ``spec`` was ok on ``spec.samples`` fresh samples in a row."""
    start = clock()
    last = {c: read(c).seq for c in spec.checks}
    passes = dict.fromkeys(spec.checks, 0)
    latest: dict[str, CheckReading] = {}
    while True:
        for check in spec.checks:
            reading = latest[check] = read(check)
            if reading.seq != last[check]:
                last[check] = reading.seq
                passes[check] = passes[check] + 1 if reading.status == "ok" else 0
            elif reading.status != "ok":
                passes[check] = 0
        waited = clock() - start
        if all(n >= spec.samples for n in passes.values()):
            held = ", ".join(spec.checks)
            return GateOutcome(True, waited, f"{held}: ok on {spec.samples} fresh samples")
        if waited >= spec.timeout:
            short = [
                f"{c}: {passes[c]} of {spec.samples} samples ok (now {latest[c].status}"
                + (f": {latest[c].reason}" if latest[c].reason else "") + ")"
                for c in spec.checks if passes[c] < spec.samples
            ]
            return GateOutcome(False, waited, f"gate not met within {format_duration(spec.timeout)}: "
                                              + "; ".join(short))
        await asyncio.sleep(poll)
