"""``kind = "ansible"``: a playbook or an ad-hoc module run through ``ansible-runner``.

Teams whose rollback is already an Ansible playbook drive it from the cockpit: the step
goes through the same guard, confirmation, journal and report as an ssh step, and
Ansible's per-host task events stream into the output pane as ``host | task: ok``
lines (with the task's stdout), each host ending ``ok``, ``failed`` or ``unreachable``.

Hosts are the step's group (or the operator's ``--hosts``), written into a generated
inventory with what the profile says about reaching them: ``ansible_host``/``port``/
``user`` from ``[inventory]``, ``[ssh] user``, the ``[ssh] config`` file (``ssh -F``),
the ``[ssh] client_keys`` and the profile's ``known_hosts`` with
``StrictHostKeyChecking=yes``: host keys are verified exactly as for ssh steps.
A playbook's plays are limited to those hosts (``--limit``).

``ansible-runner`` runs ``ansible-playbook`` in a thread and calls back from it; the
lines are handed to the event loop. Cancelling the step cancels the run (the runner
stops the process) and raises :class:`~cockpit.runner.StepCancelled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cockpit.inventory.ansible import ansible_tool
from cockpit.profile.model import AnsibleSpec, Profile, StepSpec
from cockpit.results import HostResult, HostState, OutputLine, StepResult, StepState
from cockpit.runner import StepCancelled
from cockpit.steps.base import StepFailure, relative_to_profile
from cockpit.steps.context import StepContext

INSTALL_HINT = "the ansible step kind needs ansible-runner: pip install 'cockpit[ansible]'"
TAIL_LINES = 50
MAX_LINE = 2000
JOIN_GRACE = 15.0


def _spec(step: StepSpec) -> AnsibleSpec:
    if step.ansible is None:
        raise StepFailure(f"step {step.id} has no [step.ansible] table")
    return step.ansible


def ssh_args(profile: Profile) -> str:
    """``ansible_ssh_common_args`` that make ``ssh`` reach hosts the way the pool does, keys verified."""
    ssh = profile.ssh
    known = Path(ssh.known_hosts).expanduser()
    args = ["-o", f"UserKnownHostsFile={known}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
    if ssh.config:
        args += ["-F", str(Path(ssh.config).expanduser())]
    for key in ssh.client_keys:
        args += ["-i", str(Path(key).expanduser())]
    return shlex.join(args)


def control_args(work: Path) -> str:
    """``ansible_ssh_args``: multiplexed connections private to this run (closed by :func:`close_masters`).

    Ansible's default ControlPath is shared under ``~/.ansible/cp`` and its masters persist
    60 s: a later run would reuse them without checking the host key again, and they would
    outlive the step. Here each run has its own sockets, in its own directory.
    """
    return shlex.join(["-o", "ControlMaster=auto", "-o", "ControlPersist=60s",
                       "-o", f"ControlPath={work}/cp-%C"])


def close_masters(work: Path) -> None:
    """Stop every ssh master this run started (``ssh -O exit`` on each of its sockets)."""
    for sock in work.glob("cp-*"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["ssh", "-S", str(sock), "-O", "exit", "cockpit-run"], capture_output=True,
                           timeout=5, check=False, stdin=subprocess.DEVNULL)


def inventory(profile: Profile, hosts: Sequence[str], spec: AnsibleSpec, work: Path) -> dict[str, Any]:
    """A YAML/JSON inventory: the hosts with their address, port and user, and the profile's ssh setup."""
    entries: dict[str, dict[str, Any]] = {}
    for host in hosts:
        entry: dict[str, Any] = {}
        address = profile.host_vars.get(host)
        if address is not None:
            if address.address:
                entry["ansible_host"] = address.address
            if address.port is not None:
                entry["ansible_port"] = address.port
            if address.user:
                entry["ansible_user"] = address.user
        if "ansible_user" not in entry and profile.ssh.user:
            entry["ansible_user"] = profile.ssh.user
        if "ansible_port" not in entry and profile.ssh.port != 22:
            entry["ansible_port"] = profile.ssh.port
        entries[host] = entry
    group_vars: dict[str, Any] = {
        "ansible_connection": "ssh",
        "ansible_ssh_common_args": ssh_args(profile),
        "ansible_ssh_args": control_args(work),
        "ansible_python_interpreter": "auto_silent",
    }
    if spec.become:
        group_vars["ansible_become"] = True
    return {"all": {"hosts": entries, "vars": group_vars}}


def _lines(res: dict[str, Any]) -> list[str]:
    """What a task printed: its stdout/stderr lines, else its message."""
    out: list[str] = []
    for key in ("stdout_lines", "stderr_lines"):
        value = res.get(key)
        if isinstance(value, list):
            out += [str(v) for v in value]
    if not out and res.get("msg"):
        out += str(res["msg"]).splitlines()
    return [line[:MAX_LINE] for line in out]


_SSH_KEYWORDS = ("host key verification failed", "remote host identification has changed", "permission denied",
                 "connection refused", "timed out", "could not resolve", "no route to host")


def _ssh_reason(msg: str) -> str:
    """The line of an ssh failure that says why (ssh's banner of ``@`` lines first says nothing)."""
    lines = [line.strip() for line in msg.splitlines() if line.strip() and not line.strip().startswith("@")]
    key = next((line for line in lines if any(k in line.lower() for k in _SSH_KEYWORDS)), None)
    return (key or (lines[0] if lines else "unreachable"))[:MAX_LINE]


class _Events:
    """Turns ansible-runner's events (called from its thread) into lines and per-host outcomes."""

    def __init__(self, step_id: str, hosts: Sequence[str], emit: Callable[[OutputLine], None]) -> None:
        self.step_id = step_id
        self.emit = emit
        self.tails: dict[str, deque[str]] = {h: deque(maxlen=TAIL_LINES) for h in hosts}
        self.errors: dict[str, str] = {}
        self.stats: dict[str, dict[str, int]] | None = None
        self.started = time.monotonic()

    def line(self, host: str, text: str) -> None:
        self.tails.setdefault(host, deque(maxlen=TAIL_LINES)).append(text)
        self.emit(OutputLine(self.step_id, host, "stdout", text, time.time()))

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = str(data.get("host") or "")
        task = str(data.get("task") or "").strip()
        given = data.get("res")
        res: dict[str, Any] = given if isinstance(given, dict) else {}
        if kind == "runner_on_ok":
            self.line(host, f"{task}: {'changed' if res.get('changed') else 'ok'}")
            for text in _lines(res):
                self.line(host, f"  {text}")
        elif kind == "runner_on_failed":
            ignored = " (ignored)" if data.get("ignore_errors") else ""
            why = str(res.get("msg") or f"exit status {res.get('rc')}").splitlines()[0][:MAX_LINE]
            self.line(host, f"{task}: FAILED{ignored}: {why}")
            for text in _lines(res):
                self.line(host, f"  {text}")
            if not ignored:
                self.errors[host] = f"task {task!r} failed: {why}"
        elif kind == "runner_on_unreachable":
            why = _ssh_reason(str(res.get("msg") or "unreachable"))
            self.line(host, f"{task}: UNREACHABLE: {why}")
            self.errors[host] = f"unreachable: {why}"
        elif kind == "runner_on_skipped":
            self.line(host, f"{task}: skipped")
        elif kind == "playbook_on_stats":
            self.stats = {k: dict(data.get(k) or {}) for k in ("ok", "failures", "dark", "processed", "changed")}
        return True  # keep the event in the artifacts too

    def results(self, hosts: Sequence[str], cancelled: bool) -> tuple[HostResult, ...]:
        duration = time.monotonic() - self.started
        stats = self.stats or {}
        out = []
        for host in hosts:
            state: HostState
            error = self.errors.get(host)
            if cancelled:
                state, error = "cancelled", "cancelled; ansible-playbook stopped"
            elif stats.get("dark", {}).get(host):
                state = "unreachable"
            elif stats.get("failures", {}).get(host) or host in self.errors:
                state = "failed"
            elif host in stats.get("processed", {}):
                state = "ok"
            else:
                state, error = "failed", error or "no task ran on this host (is it in the playbook's hosts?)"
            out.append(HostResult(host, state, None, duration, tuple(self.tails.get(host, ())), error))
        return tuple(out)


def command_line(spec: AnsibleSpec, profile: Profile, hosts: Sequence[str]) -> str:
    """The step as the Ansible command line an operator would type (journalled as its command)."""
    if spec.playbook:
        return f"ansible-playbook {spec.playbook} --limit {','.join(hosts)}"
    args = f" -a {shlex.quote(profile.expand(spec.args))}" if spec.args else ""
    return f"ansible {','.join(hosts)} -m {spec.module}{args}"


async def execute(
    step: StepSpec,
    ctx: StepContext,
    on_output: Callable[[OutputLine], None] | None,
    hosts: Sequence[str] | None = None,
    on_host_done: Callable[[HostResult], None] | None = None,
) -> StepResult:
    """Run the playbook (or module) on ``hosts`` (default: the step's group)."""
    started = time.time()
    spec = _spec(step)
    profile = ctx.profile
    targets = list(dict.fromkeys(hosts if hosts is not None else profile.hosts.get(step.hosts or "", ())))
    if not targets:
        return StepResult(step.id, "failed", None, started, time.time(),
                          reason=f"step {step.id}: no hosts (group {step.hosts!r} is empty or unknown)")
    command = command_line(spec, profile, targets)
    try:
        import ansible_runner
    except ImportError:
        return StepResult(step.id, "failed", command, started, time.time(), reason=INSTALL_HINT)
    binary = ansible_tool("ansible-playbook" if spec.playbook else "ansible")
    if binary is None:
        return StepResult(step.id, "failed", command, started, time.time(),
                          reason=INSTALL_HINT.replace("ansible-runner", "ansible-core"))
    loop = asyncio.get_running_loop()

    def emit(line: OutputLine) -> None:
        if on_output is not None:
            loop.call_soon_threadsafe(on_output, replace_text(line, ctx.redact(line.text)))

    events = _Events(step.id, targets, emit)
    work = Path(tempfile.mkdtemp(prefix="cockpit-ansible-"))
    stop = threading.Event()
    try:
        (work / "inventory").mkdir()
        (work / "inventory" / "hosts.yml").write_text(json.dumps(inventory(profile, targets, spec, work)))
        kwargs: dict[str, Any] = {
            "private_data_dir": str(work),
            "inventory": str(work / "inventory" / "hosts.yml"),
            "event_handler": events,
            "cancel_callback": stop.is_set,
            "quiet": True,
            "forks": spec.forks,
            "timeout": max(1, int(step.timeout)),
            # the Ansible commands found (this venv first): ansible-runner looks them up on PATH
            "envvars": {"PATH": f"{Path(binary).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
                        "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
                        "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_LOCAL_TEMP": str(work / "tmp")},
            "extravars": {k: profile.expand(v) for k, v in spec.extravars.items()},
        }
        if spec.playbook:
            kwargs.update(playbook=str(relative_to_profile(ctx, spec.playbook)), limit=",".join(targets))
        else:
            kwargs.update(module=spec.module, module_args=profile.expand(spec.args), host_pattern="all")
        thread, runner = ansible_runner.run_async(**kwargs)
        try:
            await asyncio.to_thread(thread.join)
        except asyncio.CancelledError:
            stop.set()
            await asyncio.shield(asyncio.to_thread(thread.join, JOIN_GRACE))
            result = _result(step, command, started, events, targets=targets, runner=runner, cancelled=True)
            _done(result, on_host_done)
            raise StepCancelled(result) from None
        result = _result(step, command, started, events, targets=targets, runner=runner, cancelled=False)
        _done(result, on_host_done)
        return result
    finally:
        await asyncio.shield(asyncio.to_thread(close_masters, work))
        shutil.rmtree(work, ignore_errors=True)


def replace_text(line: OutputLine, text: str) -> OutputLine:
    return OutputLine(line.step_id, line.host, line.stream, text, line.ts)


def _done(result: StepResult, on_host_done: Callable[[HostResult], None] | None) -> None:
    if on_host_done is not None:
        for host in result.hosts:
            on_host_done(host)


def _result(step: StepSpec, command: str, started: float, events: _Events, *, targets: Sequence[str],
            runner: Any, cancelled: bool) -> StepResult:
    hosts = events.results(targets, cancelled)
    ok = sum(h.state == "ok" for h in hosts)
    status = str(getattr(runner, "status", "") or "")
    state: StepState = "cancelled" if cancelled else ("ok" if ok == len(hosts) else "failed" if ok == 0
                                                      else "partial")
    reason = None
    if cancelled:
        reason = "cancelled by the operator"
    elif status == "timeout":
        state, reason = "failed", f"ansible timed out after {int(step.timeout)}s"
    elif events.stats is None:
        state, reason = "failed", (f"ansible ended before running a task (status {status or '?'}, "
                                   f"rc {getattr(runner, 'rc', None)}): {_last_error(runner)}")
    elif state != "ok":
        bad = [h for h in hosts if h.state != "ok"]
        shown = "; ".join(f"{h.host}: {h.error or h.state}" for h in bad[:3])
        reason = f"{ok} of {len(hosts)} hosts ok — {shown}" + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
    detail = {"ansible_status": status, "rc": getattr(runner, "rc", None)}
    return StepResult(step.id, state, command, started, time.time(), hosts, reason, detail)


def _last_error(runner: Any) -> str:
    """The last ``ERROR!``/``[ERROR]`` line Ansible printed (its own words for a bad playbook)."""
    try:
        text = runner.stdout.read()
    except Exception:
        return "no output"
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line]
    return ((errors or lines or ["no output"])[-1])[:MAX_LINE]


def preview(step: StepSpec, ctx: StepContext) -> str:
    """The command line and the playbook itself (or the module call), for the confirmation."""
    spec = _spec(step)
    hosts = tuple(ctx.profile.hosts.get(step.hosts or "", ()))
    text = f"$ {command_line(spec, ctx.profile, hosts)}\n"
    if spec.playbook:
        path = relative_to_profile(ctx, spec.playbook)
        try:
            body = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise StepFailure(f"playbook {spec.playbook} cannot be read: {exc.strerror or exc}") from None
        text += f"\n# {path}\n" + "\n".join(body[:80]) + ("\n…" if len(body) > 80 else "")
    return text
