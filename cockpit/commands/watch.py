"""``cockpit watch --profile P [--json] [--for SECONDS]``: a headless observer, one line per event.

Follows the incident of the profile (name + environment) as the TUI's read-only
mode does, from any Unix user of the bastion's group: the driver's journal
entries (steps, ticks, the RTO clock, check transitions, approval requests), its
output lines and samples from its feed, and the driver's comings and goings
("driver gone (since …)"). It never takes the lock, never writes the journal, and
polls production only when no live driver publishes its samples (said on a
``sampling`` line). ``--json`` prints one JSON object per line with ``seen`` (when
this observer saw it). Exit 0 on Ctrl-C / SIGTERM or after ``--for``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from typing import Any

from cockpit.exitcodes import Exit


def _hms(ts: object) -> str:
    if not isinstance(ts, int | float):
        return "--:--:--"
    try:
        return time.strftime("%H:%M:%S", time.localtime(ts))
    except (ValueError, OverflowError, OSError):
        return "--:--:--"


def describe(entry: dict[str, Any]) -> str:
    """One readable line for a journal entry."""
    t = str(entry.get("type"))
    step = entry.get("step")
    who = entry.get("by") or (f"{entry.get('user')}@{entry.get('host')}" if entry.get("user") else None)
    parts = [_hms(entry.get("ts")), t]
    if step:
        parts.append(str(step))
    if t == "step_end":
        parts.append(str(entry.get("state")))
    if t == "check_transition":
        parts += [str(entry.get("check")), f"{entry.get('from')} -> {entry.get('to')}"]
    if who:
        parts.append(f"by {who}")
    if t == "step_start" and entry.get("command"):
        parts.append(f"$ {entry['command']}")
    if entry.get("reason"):
        parts.append(f"({entry['reason']})")
    return " ".join(parts)


async def _watch(args: argparse.Namespace, profile: Any) -> int:
    from cockpit.controller import Controller

    as_json = bool(args.json)
    stop = asyncio.Event()

    def emit(kind: str, human: str, **data: Any) -> None:
        try:
            if as_json:
                print(json.dumps({"seen": time.time(), "kind": kind, **data}, default=str), flush=True)
            else:
                print(human, flush=True)
        except BrokenPipeError:      # `cockpit watch | head`: the reader left
            stop.set()

    try:
        c = Controller(profile, read_only=True)
    except OSError as e:
        print(f"cockpit watch: cannot use the state directory: {e}", file=sys.stderr)
        return Exit.FAILED
    c.on_journal(lambda e: emit("journal", describe(e), entry=e))
    c.on_output(lambda line: emit("output", f"{line.step_id} {line.host or 'local'} | {line.text}",
                                  step=line.step_id, host=line.host, text=line.text, ts=line.ts))

    def driver(state: str) -> None:
        h = c.lock_holder
        if state == "driving":
            text = f"{_hms(time.time())} driver: {h.describe() if h else '?'} (lock: {c.lock_scope})"
        elif state == "gone":
            text = f"{_hms(time.time())} driver gone (since {_hms(c.driver_gone_since)}): the lock is free"
        else:
            text = f"{_hms(time.time())} no driver"
        emit("driver", text, state=state, holder=h.who if h else None, since=c.driver_gone_since,
             scope=c.lock_scope)
        emit("sampling", f"{_hms(time.time())} sampling: {c.sampling}"
             + (" (no live driver: this observer polls the sources itself)" if c.sampling == "own polling" else ""),
             mode=c.sampling)

    c.on_driver(driver)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await c.start(connect=False, poll=not args.no_poll)
        driver(c.driver_state)
        for notice in c.notices:
            emit("notice", f"cockpit watch: {notice}", text=notice)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.for_seconds):
                await stop.wait()
    finally:
        await c.stop()
    return Exit.OK


def main(args: argparse.Namespace) -> int:
    from cockpit.commands.profile_arg import open_profile

    if args.for_seconds is not None and not args.for_seconds > 0:
        print("cockpit watch: --for must be a positive number of seconds", file=sys.stderr)
        return Exit.USAGE
    profile = open_profile(args.profile, "cockpit watch")
    if profile is None:
        return Exit.USAGE
    return asyncio.run(_watch(args, profile))
