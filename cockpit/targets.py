"""Where a step runs, in the words the confirmation and the preview use."""

from __future__ import annotations

from cockpit.profile.model import Profile, StepSpec


def where_it_runs(profile: Profile, step: StepSpec) -> str:
    """``"ONE host, the first reachable of: console"``, ``"in parallel: web-1, web-2"``, ..."""
    if step.kind == "local":
        return "this machine (the bastion)"
    if step.kind != "ssh":
        return NO_HOST.get(step.kind, f"no host: this cockpit runs the {step.kind} step itself")
    group = ", ".join(profile.hosts.get(step.hosts or "", ())) or "(no hosts)"
    return {
        "once": f"ONE host, the first reachable of: {group}",
        "serial": f"one host after the other: {group}",
        "parallel": f"in parallel: {group}",
    }[step.run]


NO_HOST = {
    "email": "no host: this cockpit sends the email",
    "slack": "no host: this cockpit posts to Slack",
    "jira": "no host: this cockpit calls Jira",
    "webhook": "no host: this cockpit calls the webhook",
    "manual": "no host: a manual step, ticked by hand",
}
