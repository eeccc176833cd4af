"""``cockpit approve STEP --profile P [--confirm ENV | --refuse REASON] [--wait SECONDS]``: the second person.

Run by another Unix user than the driver (any shell on the bastion). Shows the
driver's pending request for STEP exactly as it will run (command after
substitution, hosts, preview, who asks, when it expires), checks it against this
user's copy of the profile, and approves it once the environment name is typed
(``--confirm ENV``, or typed at the prompt on a terminal), or refuses it with a
reason. Then waits for the driver to journal what it made of the answer.

Exit codes: 0 approved and accepted by the driver (or refused as asked); 1 no
request to answer; 2 bad profile or usage; 3 refused (self-approval, expired,
wrong environment, a command or hosts this profile does not run, or the driver
rejected the answer).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from cockpit.approval import ApprovalError, Request
from cockpit.exitcodes import Exit
from cockpit.profile.model import Profile

ANSWER_WAIT = 15.0   # seconds to wait for the driver to take the answer into account


def _err(msg: str) -> None:
    print(f"cockpit approve: {msg}", file=sys.stderr, flush=True)


def _hms(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def show(req: Request) -> str:
    hosts = ", ".join(req.hosts) or "this machine (a local step)"
    lines = [f"approval requested by {req.by} at {_hms(req.ts)} (expires {_hms(req.expires)})",
             f"  step:    {req.step}", f"  command: {req.command or '(none)'}", f"  hosts:   {hosts}",
             f"  digest:  {req.digest[:16]}"]
    if req.preview:
        lines += ["  preview:"] + [f"    {line}" for line in req.preview.splitlines()]
    return "\n".join(lines)


async def _approve(args: argparse.Namespace, profile: Profile) -> int:
    from cockpit.controller import Controller

    try:
        c = Controller(profile, read_only=True)
    except OSError as e:
        _err(f"cannot use the state directory: {e}")
        return Exit.FAILED
    await c.start(connect=False, poll=False)
    try:
        deadline = time.monotonic() + max(0.0, args.wait)
        while True:
            found = [r for r in c.pending_approvals() if r.step == args.step]
            if found or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        if not found:
            _err(f"no pending approval request for {args.step} (the driver asks when it fires it)")
            return Exit.FAILED
        req = found[-1]
        print(show(req), flush=True)
        confirmation = args.confirm
        if args.refuse is None and confirmation is None:
            if not sys.stdin.isatty():
                _err(f"type the environment name to approve: --confirm {profile.cockpit.environment}"
                     " (or --refuse REASON)")
                return Exit.USAGE
            confirmation = input(f"type the environment name ({profile.cockpit.environment}) to approve: ")
        try:
            c.answer_approval(args.step, confirmation=confirmation, approve=args.refuse is None,
                              reason=args.refuse or "")
        except ApprovalError as e:
            _err(f"refused: {e}")
            return Exit.REFUSED
        verdict = "refusal" if args.refuse is not None else "approval"
        print(f"{verdict} sent; waiting for the driver to take it", flush=True)
        end = time.monotonic() + ANSWER_WAIT
        while time.monotonic() < end:
            for entry in reversed(c._approval_entries):
                if entry.get("request") != req.id:
                    continue
                t = entry.get("type")
                if t == "approval_granted":
                    print(f"approved: the driver ({req.by}) runs {req.step} now", flush=True)
                    return Exit.OK
                if t == "approval_refused":
                    print(f"refused: the driver stops {req.step}", flush=True)
                    return Exit.OK
                if t == "approval_rejected" and str(entry.get("by", "")).startswith(f"{c._me[0]}@"):
                    _err(f"the driver rejected the answer: {entry.get('reason')}")
                    return Exit.REFUSED
                if t in ("approval_expired", "approval_cancelled"):
                    _err(f"the request was {t.split('_')[1]} before the driver took the answer")
                    return Exit.REFUSED
            await asyncio.sleep(0.2)
        _err("the driver has not taken the answer yet (is it still running?)")
        return Exit.FAILED
    finally:
        await c.stop()


def main(args: argparse.Namespace) -> int:
    from cockpit.commands.profile_arg import open_profile

    profile = open_profile(args.profile, "cockpit approve")
    if profile is None:
        return Exit.USAGE
    try:
        step = profile.step(args.step)
    except KeyError:
        _err(f"no step {args.step!r} in {profile.cockpit.name}")
        return Exit.USAGE
    if not step.approve:
        _err(f"{step.id} does not ask for approval (no `approve = true` in the profile)")
        return Exit.USAGE
    if args.refuse is not None and not args.refuse.strip():
        _err("--refuse needs a reason")
        return Exit.USAGE
    return asyncio.run(_approve(args, profile))
