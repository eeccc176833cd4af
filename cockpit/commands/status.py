"""``cockpit status --profile P [--json]``: sample every signal once, evaluate every check.

Exit 0 when every check is ok, 1 when any is not, 2 for a bad profile.
Deadlines are not running (no rollback is started by a status query). A check
needing N consecutive passes gets up to N samples of its signal, one polling
interval apart, as long as they keep passing: "twice consecutively" means two
samples, not one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from cockpit import escape
from cockpit.checks import CheckEngine, CheckState, fmt_values
from cockpit.commands.profile_arg import open_profile
from cockpit.durations import format_duration
from cockpit.exitcodes import Exit
from cockpit.freshness import json_number, nonfinite_reason
from cockpit.poller import Poller, interval_of
from cockpit.profile.model import Profile
from cockpit.secrets import redact, secret_values
from cockpit.series import SeriesStore, SignalView, clock

MAX_ROUNDS = 5  # cap on the samples taken for `consecutive`

SYMBOLS = {"ok": "✔", "failing": "✘", "missed": "✘", "unknown": "?", "pending": "…"}
COLOURS = {"ok": "32", "failing": "31", "missed": "31", "unknown": "33", "pending": "36"}


def use_colour(stream: TextIO) -> bool:
    return "NO_COLOR" not in os.environ and stream.isatty()


async def collect(profile: Profile) -> tuple[SeriesStore, CheckEngine]:
    """Sample, then re-sample signals whose checks are passing but need more consecutive passes."""
    store = SeriesStore(profile)
    engine = CheckEngine(profile, time.time())
    poller = Poller(profile, store)
    try:
        wanted: set[str] | None = None
        for _ in range(MAX_ROUNDS):
            await poller.sample_once(wanted)
            engine.evaluate(store, time.time(), None)
            wanted = {s.signal_id for s in engine.states() if s.status == "pending" and s.passes > 0}
            if not wanted:
                break
            wait = min(
                interval_of(profile, profile.sources[profile.signal(sid).source]) for sid in wanted
            )
            await asyncio.sleep(wait)  # the polling interval between consecutive samples
    finally:
        await poller.stop()
    return store, engine


def _json_values(values: Mapping[str, float]) -> tuple[dict[str, float | None], dict[str, str]]:
    """Values as JSON numbers; NaN/±Inf become ``null`` with their reason in the second map."""
    out: dict[str, float | None] = {}
    nulls: dict[str, str] = {}
    for k, v in sorted(values.items()):
        out[k] = json_number(v)
        reason = nonfinite_reason(v)
        if reason:
            nulls[k] = reason
    return out, nulls


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def as_json(profile: Profile, store: SeriesStore, states: list[CheckState], now: float) -> dict[str, Any]:
    """The document `status --json` prints; its schema is docs/status-json.md (``"schema": 1``)."""
    signals = []
    for sig in profile.signals:
        v = store.view(sig.id, now)
        values, nulls = _json_values(v.latest() if v.last_ok else {})
        prov = v.provenance
        signals.append({
            "id": sig.id,
            "title": sig.title,
            "source": sig.source,
            "values": values,
            "nulls": nulls,
            "ok": v.stale_since is None and v.last_ok is not None,
            "fresh": v.stale_since is None and v.last_ok is not None,
            "no_data": v.no_data,
            "error": v.stale_reason,
            "stale_since": v.stale_since,
            "ts": v.last_ok,
            "sample_ts": v.sample_ts,
            "age": _round(v.age),
            "max_age": v.max_age,
            "health": ({"targets": prov.targets, "problem": prov.problem}
                       if prov is not None and (prov.targets or prov.problem) else None),
        })
    checks = []
    for s in states:
        values, nulls = _json_values(s.values)
        checks.append({
            "id": s.check_id,
            "title": s.title,
            "signal": s.signal_id,
            "status": s.status,
            "reason": s.reason,
            "values": values,
            "nulls": nulls,
            "age": _round(s.age),
            "passes": s.passes,
            "needed": s.needed,
            "since": s.since,
            "evidence": dict(s.evidence),
        })
    return {
        "schema": 1,
        "profile": profile.cockpit.name,
        "environment": profile.cockpit.environment,
        "ts": now,
        "ok": all(s.status == "ok" for s in states),
        "signals": signals,
        "checks": checks,
    }


def _signal_line(profile: Profile, view: SignalView, sig_id: str) -> tuple[str, str]:
    sig = profile.signal(sig_id)
    unit = f" {sig.unit}" if sig.unit else ""
    age = f"{view.age:.1f}s" if view.age is not None and view.age < 10 else (
        format_duration(view.age) if view.age is not None else "?")
    if view.stale_since is not None:
        shown = f"stale {age}: {view.stale_reason}" if view.last_ok is not None else (
            f"stale since {clock(view.stale_since)}: {view.stale_reason}")
    elif view.last_ok is None:
        shown = "no sample"
    elif not view.current:
        shown = "no data (the query returned no series)"
    else:
        shown = fmt_values({k: v * sig.scale for k, v in view.current.items()}, limit=8) + f"{unit} (age {age})"
    return f"{sig.id} ({sig.source})", shown


def as_table(profile: Profile, store: SeriesStore, states: list[CheckState], now: float, colour: bool) -> str:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if colour else text

    out = [f"{profile.cockpit.name} ({profile.cockpit.environment}) at {clock(now)}", "", "Signals"]
    rows = [_signal_line(profile, store.view(s.id, now), s.id) for s in profile.signals]
    width = max((len(a) for a, _ in rows), default=0)
    # label values and reasons come from outside: one line each, no escape sequence
    out += [f"  {a.ljust(width)}  {escape.terminal(b)}" for a, b in rows] or ["  (none)"]
    out += ["", "Checks"]
    for s in states:
        sym = paint(COLOURS[s.status], SYMBOLS[s.status])
        out.append(f"  {sym} {s.title}  [{paint(COLOURS[s.status], s.status)}] {escape.terminal(s.reason)}")
    if not states:
        out.append("  (none)")
    return "\n".join(out)


def main(args: argparse.Namespace) -> int:
    profile = open_profile(args.profile, "cockpit status")
    if profile is None:
        return Exit.USAGE
    store, engine = asyncio.run(collect(profile))
    now = time.time()
    states = engine.states()
    if args.json:
        text = json.dumps(as_json(profile, store, states, now), indent=2, ensure_ascii=False, allow_nan=False)
    else:
        text = as_table(profile, store, states, now, use_colour(sys.stdout))
    # belt and braces: sources already word their errors without secrets
    refs = [t for src in profile.sources.values() for t in (src.url or "", *src.headers.values())]
    print(redact(text, secret_values(refs)))
    return Exit.OK if all(s.status == "ok" for s in states) else Exit.FAILED
