"""``cockpit run STEP --profile P``: fire one step headless, journalled, with host-prefixed output.

Exit codes (`cockpit.exitcodes.Exit`): OK the step succeeded; FAILED a host
failed (or the step failed / partly failed, or the journal could not record the
run: it says so, and how many entries are missing); USAGE bad profile or usage
(unknown step, empty ``--hosts``, host not in the group); REFUSED by the guard
(read-only, lock held by another driver, `after` steps not done, confirmation
missing, the journal cannot be written); INTERRUPTED (Ctrl-C / SIGTERM: the step
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
from collections.abc import Sequence

from cockpit import escape
from cockpit.commands.profile_arg import open_profile
from cockpit.controller import Controller
from cockpit.durations import format_duration
from cockpit.exitcodes import Exit
from cockpit.kinds import names_of, step_kind, step_kinds
from cockpit.profile.model import Profile
from cockpit.results import OutputLine, StepResult


def _err(msg: str) -> None:
    print(f"cockpit run: {msg}", file=sys.stderr, flush=True)


def load(name_or_path: str | None) -> Profile | None:
    """The profile, or None after printing its problems."""
    return open_profile(name_or_path, "cockpit run")


def summary(result: StepResult) -> list[str]:
    """Per-host table: host, state, exit status, duration (and the error when there is one)."""
    if not result.hosts:
        line = f"{result.step_id}: {result.state} in {format_duration(result.ended - result.started)}"
        return [line + (f" — {escape.terminal(result.reason)}" if result.reason else "")]
    width = max(len(h.host) for h in result.hosts)
    rows = [f"{'host':<{width}}  {'state':<11}  {'exit':>4}  duration"]
    for h in result.hosts:
        status = "-" if h.exit_status is None else str(h.exit_status)
        verify = "" if h.verify_ok is None else ("  verify ok" if h.verify_ok else "  verify FAILED")
        error = f"  ({escape.terminal(h.error)})" if h.error else ""
        rows.append(f"{h.host:<{width}}  {h.state:<11}  {status:>4}  {format_duration(h.duration)}{verify}{error}")
    rows.append(f"{result.step_id}: {result.state}" + (f" — {escape.terminal(result.reason)}" if result.reason else ""))
    return rows


def parse_hosts(given: str | None, group_name: str, group: Sequence[str]) -> tuple[list[str] | None, str | None]:
    """``--hosts`` as ``(hosts, None)``, or ``(None, why it is refused)``.

    Not given (None) means the whole group; given, it must name at least one host, each once and
    none empty: ``""``, ``","`` or ``" "`` is an empty selection, never "all of them".
    """
    if given is None:
        return None, None
    names = [h.strip() for h in given.split(",")]
    listed = f"{group_name!r} ({', '.join(group) or 'empty'})"
    if not any(names):
        return None, (f"--hosts is empty: name at least one host of group {listed}, "
                      "or leave --hosts out to run on the whole group")
    if not all(names):
        return None, f"--hosts {given!r}: an empty host name between commas"
    twice = sorted({h for h in names if names.count(h) > 1})
    if twice:
        return None, f"--hosts: {', '.join(twice)} is named twice"
    return names, None


async def _run(args: argparse.Namespace, profile: Profile) -> int:
    step = profile.step(args.step)
    if args.hosts is not None and step_kind(step.kind).runs_on != "hosts":
        hosted = names_of([k for k in step_kinds() if k.runs_on == "hosts"])
        _err(f"--hosts applies to {hosted} steps only; {step.id} is a {step.kind} step")
        return Exit.USAGE
    group = profile.hosts.get(step.hosts or "", ())
    hosts, problem = parse_hosts(args.hosts, step.hosts or "", group)
    if problem:
        _err(problem)
        return Exit.USAGE
    if hosts is not None:
        unknown = [h for h in hosts if h not in group]
        if unknown:
            _err(f"{', '.join(unknown)}: not in host group {step.hosts!r} ({', '.join(group)})")
            return Exit.USAGE
    try:
        controller = Controller(profile, read_only=args.read_only)
    except OSError as e:
        _err(f"cannot use the state directory: {e}")
        return Exit.FAILED
    width = max((len(h) for g in profile.hosts.values() for h in g), default=0)

    def show(line: OutputLine) -> None:
        stream = sys.stderr if line.stream == "stderr" else sys.stdout
        prefix = f"{line.host:<{width}} | " if line.host else ""
        print(f"{prefix}{escape.terminal(line.text)}", file=stream, flush=True)

    controller.on_output(show)
    said: set[str] = set()   # notices already said live (the open-file limit), not repeated at the end

    def limits(host: str, event: str, detail: str) -> None:
        if event == "limits":
            said.add(detail)
            _err(detail)

    controller.on_connection(limits)
    if step.batch:
        from cockpit.batches import describe_event

        controller.on_batch(lambda e: print(f"cockpit run: {describe_event(e)}", file=sys.stderr, flush=True))

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

    def after_batch() -> None:   # Ctrl-\ on a batched step: finish the running batch, then stop
        if controller.stop_after_batch(step.id):
            print("cockpit run: stopping after the current batch (Ctrl-C stops at once)", file=sys.stderr,
                  flush=True)

    try:
        await controller.start(connect=False, poll=step.gate is not None)   # a gate reads live checks
    except OSError as e:
        _err(f"cannot open the lock or the journal in the state directory: {e}")
        return Exit.FAILED
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    told = 0
    if step.batch:
        loop.add_signal_handler(signal.SIGQUIT, after_batch)
    try:
        for notice in controller.notices:
            print(f"cockpit run: {notice}", file=sys.stderr, flush=True)
        if controller.journal is not None:
            print(f"cockpit run: journal {controller.journal.path}", file=sys.stderr, flush=True)
        told = len(controller.notices)
        if step_kind(step.kind).reports_checks and controller.is_driver:   # its message reports them
            await controller.sample_now()
        result = await controller.fire(step.id, confirmation=args.confirm, yes=args.yes,
                                       override=args.override, hosts=hosts)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        problem = controller.journal_problem
        await controller.stop()
    for notice in controller.notices[told:]:
        if notice not in said:
            print(f"cockpit run: {notice}", file=sys.stderr, flush=True)
    if result.state == "refused":
        _err(f"refused: {result.reason}")
        return Exit.REFUSED
    for row in summary(result):
        print(row, flush=True)
    if problem is not None:
        _err(f"journal cannot be written: {problem}: the record of this run is incomplete")
    if interrupted:
        return Exit.INTERRUPTED
    return Exit.OK if result.ok and problem is None else Exit.FAILED


def main(args: argparse.Namespace) -> int:
    profile = load(args.profile)
    if profile is None:
        return Exit.USAGE
    try:
        profile.step(args.step)
    except KeyError:
        ids = ", ".join(s.id for s in profile.steps) or "(none)"
        _err(f"no step {args.step!r} in {profile.cockpit.name} (steps: {ids})")
        return Exit.USAGE
    return asyncio.run(_run(args, profile))
