"""A cockpit controller driven by JSON lines on stdin, reporting JSON lines on stdout.

Run as any Unix user (``python tests/multiuser/agent.py --profile P [--read-only] [--no-poll]``):
the multi-user tests use it for what a person at a TUI does — drive, fire steps, offer a
handoff, accept one, take over — without a terminal. Commands: ``{"op": "fire", "step": S,
"confirmation": ENV, "yes": true}``, ``{"op": "offer", "to": USER}``, ``{"op": "accept"}``,
``{"op": "take_over"}``, ``{"op": "state"}``, ``{"op": "quit"}``. Events: ``ready``,
``journal``, ``output``, ``driver``, ``result``, ``state``, ``error``; each with ``seen``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from cockpit.controller import Controller
from cockpit.profile.load import load_profile


def say(kind: str, **data: Any) -> None:
    print(json.dumps({"seen": time.time(), "kind": kind, **data}, default=str), flush=True)


def state(c: Controller) -> dict[str, Any]:
    latest = {sid: c.store.view(sid).latest() for sid in c.store.signal_ids()}
    return {"is_driver": c.is_driver, "sampling": c.sampling, "driver_state": c.driver_state,
            "driver": c.driver, "rollback_started": c.session.rollback_started,
            "rto_elapsed": c.rto_elapsed(), "session": c.session.session_id,
            "journal": str(c.journal.path) if c.journal else None, "latest": latest,
            "polling": bool(c.poller is not None and getattr(c.poller, "_tasks", None)),
            "scope": c.lock_scope, "approvals": getattr(c, "pending_approvals", lambda: [])()}


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True)
    ap.add_argument("--read-only", action="store_true")
    ap.add_argument("--no-poll", action="store_true")
    args = ap.parse_args()
    c = Controller(load_profile(args.profile), read_only=args.read_only)
    c.on_journal(lambda e: say("journal", entry=e))
    c.on_output(lambda line: say("output", step=line.step_id, host=line.host, text=line.text))
    c.on_driver(lambda st: say("driver", state=st, since=c.driver_gone_since))
    await c.start(connect=False, poll=not args.no_poll)
    say("ready", **state(c), notices=list(c.notices))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[Any]] = set()

    async def op(cmd: dict[str, Any]) -> None:
        try:
            name = cmd.get("op")
            if name == "fire":
                r = await c.fire(cmd["step"], confirmation=cmd.get("confirmation"), yes=bool(cmd.get("yes")))
                say("result", op="fire", step=r.step_id, state=r.state, reason=r.reason)
            elif name == "offer":
                say("result", op="offer", value=await c.hand_over(cmd["to"], timeout=float(cmd.get("timeout", 30))))
            elif name == "accept":
                holder = await c.accept_handoff(connect=False, timeout=float(cmd.get("timeout", 30)))
                say("result", op="accept", holder=holder.describe())
            elif name == "take_over":
                holder = await c.take_over(connect=False)
                say("result", op="take_over", holder=holder.describe())
            elif name == "state":
                say("state", **state(c))
        except Exception as e:  # reported, the agent goes on
            say("error", op=cmd.get("op"), error=f"{type(e).__name__}: {e}")

    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd.get("op") == "quit":
            break
        t = asyncio.create_task(op(cmd))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    await c.stop()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
