"""Where a step runs, in the words the confirmation and the preview use."""

from __future__ import annotations

from cockpit.durations import format_duration
from cockpit.kinds import step_kind
from cockpit.profile.model import Profile, StepSpec
from cockpit.sizes import plan, resolve

SHOWN_HOSTS = 12  # a fleet of 1,000 is named by its first hosts and its size


def _hosts(hosts: tuple[str, ...], group: str | None) -> str:
    if not hosts:
        return "(no hosts)"
    if len(hosts) <= SHOWN_HOSTS:
        return ", ".join(hosts)
    return (", ".join(hosts[:SHOWN_HOSTS]) + f", … and {len(hosts) - SHOWN_HOSTS} more "
            f"({len(hosts)} hosts of {group})")


def batches_in_words(step: StepSpec, total: int) -> str:
    """``in 6 batches of 1, 2, 5, 5, 5, 2 hosts (max_fail 10% = 2 hosts; gate: healthz ×2 within 5m)``."""
    sizes = plan(step.batch, total) if total else []
    allowed = resolve(step.max_fail, total, at_least_one=False)
    budget = f"max_fail {step.max_fail}" + (f" = {allowed} host{'s' if allowed != 1 else ''}"
                                             if step.max_fail.endswith("%") else "")
    extra = [budget]
    if step.gate is not None:
        extra.append(f"gate: {', '.join(step.gate.checks)} ×{step.gate.samples} within "
                     f"{format_duration(step.gate.timeout)}")
    shown = ", ".join(map(str, sizes[:8])) + (", …" if len(sizes) > 8 else "")
    return f"in {len(sizes)} batches of {shown} hosts ({'; '.join(extra)})"


def where_it_runs(profile: Profile, step: StepSpec) -> str:
    """``"ONE host, the first reachable of: console"``, ``"in parallel: web-1, web-2"``, ..."""
    kind = step_kind(step.kind)
    if kind.runs_on != "hosts":   # its record says where: "this machine", "no host: …"
        return kind.where or f"no host: this cockpit runs the {kind.name} step itself"
    hosts = tuple(profile.hosts.get(step.hosts or "", ()))
    group = _hosts(hosts, step.hosts)
    if step.batch:
        return f"{batches_in_words(step, len(hosts))}: {group}"
    return {
        "once": f"ONE host, the first reachable of: {group}",
        "serial": f"one host after the other: {group}",
        "parallel": f"in parallel: {group}",
    }[step.run]

