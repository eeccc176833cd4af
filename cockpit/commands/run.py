"""``cockpit run STEP --profile P``: fire one step headless, journalled, with host-prefixed output.

Exit codes: 0 the step succeeded; 1 a host failed (or the step failed / partly
failed); 2 bad profile or usage (unknown step, host not in the group); 3
refused by the guard (read-only, lock held by another driver, `after` steps
not done, confirmation missing); 130 interrupted (Ctrl-C / SIGTERM: the step
is cancelled on every host and that is journalled).

Confirmation: ``confirm = "yes"`` steps need ``--yes``; ``confirm = "type"``
steps need ``--confirm ENVIRONMENT`` (the exact environment name). A ``--confirm``
naming another environment is refused whatever the step asks (the wrong profile).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from cockpit.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from cockpit.controller import Controller
from cockpit.durations import format_duration
from cockpit.profile.load import load_profile
from cockpit.profile.locate import ProfileNotFound, locate_profile
from cockpit.profile.model import Profile
from cockpit.profile.problems import ProfileError
from cockpit.results import OutputLine, StepResult

EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130


def _err(msg: str) -> None:
    print(f"cockpit run: {msg}", file=sys.stderr, flush=True)


def load(name_or_path: str) -> Profile | None:
    """The profile, or None after printing its problems."""
    try:
        return load_profile(locate_profile(name_or_path))
    except ProfileNotFound as e:
        _err(str(e))
    except ProfileError as e:
        print(e.format(), file=sys.stderr)
        _err(f"{len(e.problems)} problem(s) in the profile")
    return None


def summary(result: StepResult) -> list[str]:
    """Per-host table: host, state, exit status, duration (and the error when there is one)."""
    if not result.hosts:
        line = f"{result.step_id}: {result.state} in {format_duration(result.ended - result.started)}"
        return [line + (f" — {result.reason}" if result.reason else "")]
    width = max(len(h.host) for h in result.hosts)
    rows = [f"{'host':<{width}}  {'state':<11}  {'exit':>4}  duration"]
    for h in result.hosts:
        status = "-" if h.exit_status is None else str(h.exit_status)
        verify = "" if h.verify_ok is None else ("  verify ok" if h.verify_ok else "  verify FAILED")
        error = f"  ({h.error})" if h.error else ""
        rows.append(f"{h.host:<{width}}  {h.state:<11}  {status:>4}  {format_duration(h.duration)}{verify}{error}")
    rows.append(f"{result.step_id}: {result.state}" + (f" — {result.reason}" if result.reason else ""))
    return rows


async def _run(args: argparse.Namespace, profile: Profile) -> int:
    hosts = [h.strip() for h in args.hosts.split(",") if h.strip()] if args.hosts else None
    step = profile.step(args.step)
    if hosts and step.kind != "ssh":
        _err(f"--hosts applies to ssh steps only; {step.id} is a {step.kind} step")
        return EXIT_USAGE
    if hosts:
        group = profile.hosts.get(step.hosts or "", ())
        unknown = [h for h in hosts if h not in group]
        if unknown:
            _err(f"{', '.join(unknown)}: not in host group {step.hosts!r} ({', '.join(group)})")
            return EXIT_USAGE
    try:
        controller = Controller(profile, read_only=args.read_only)
    except OSError as e:
        _err(f"cannot use the state directory: {e}")
        return EXIT_FAIL
    width = max((len(h) for g in profile.hosts.values() for h in g), default=0)

    def show(line: OutputLine) -> None:
        stream = sys.stderr if line.stream == "stderr" else sys.stdout
        prefix = f"{line.host:<{width}} | " if line.host else ""
        print(f"{prefix}{line.text}", file=stream, flush=True)

    controller.on_output(show)

    def approvals(entry: dict[str, object]) -> None:
        """The two-person rule, said on the driver's terminal."""
        t = entry.get("type")
        if t == "approval_requested":
            _err(f"{entry.get('step')} waits for approval by another Unix user: they run "
                 f"`cockpit approve {entry.get('step')} --profile {profile.path}` (Ctrl-C gives up)")
        elif t == "approval_rejected":
            _err(f"an answer was not accepted: {entry.get('reason')}")
        elif t == "approval_granted":
            _err(f"approved by {entry.get('by')}")

    controller.on_journal(approvals)
    interrupted = False
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        controller.cancel(step.id)

    try:
        await controller.start(connect=False, poll=False)
    except OSError as e:
        _err(f"cannot open the lock or the journal in the state directory: {e}")
        return EXIT_FAIL
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    try:
        for notice in controller.notices:
            print(f"cockpit run: {notice}", file=sys.stderr, flush=True)
        if controller.journal is not None:
            print(f"cockpit run: journal {controller.journal.path}", file=sys.stderr, flush=True)
        if step.kind in REPORTING_KINDS and controller.is_driver:
            await controller.sample_now()
        result = await controller.fire(step.id, confirmation=args.confirm, yes=args.yes,
                                       override=args.override, hosts=hosts)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await controller.stop()
    if result.state == "refused":
        _err(f"refused: {result.reason}")
        return EXIT_REFUSED
    for row in summary(result):
        print(row, flush=True)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAIL


# step kinds whose messages may report the checks: sampled once before they fire
REPORTING_KINDS = frozenset({"slack", "email", "jira"})


def main(args: argparse.Namespace) -> int:
    profile = load(args.profile)
    if profile is None:
        return EXIT_USAGE
    try:
        profile.step(args.step)
    except KeyError:
        ids = ", ".join(s.id for s in profile.steps) or "(none)"
        _err(f"no step {args.step!r} in {profile.cockpit.name} (steps: {ids})")
        return EXIT_USAGE
    return asyncio.run(_run(args, profile))
