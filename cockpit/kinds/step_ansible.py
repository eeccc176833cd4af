"""``kind = "ansible"``: a playbook or ad-hoc module on the step's hosts (`cockpit.steps.ansible`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, KeyPath, OutputHandler, RuleContext, StepKind, register_step_kind
from cockpit.profile.model import AnsibleSpec

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import ansible

    return await ansible.execute(step, ctx, on_output, hosts=hosts, on_host_done=on_host_done)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import ansible

    return ansible.preview(step, ctx)


def command_line(step: StepSpec, profile: Profile, hosts: Sequence[str]) -> str | None:
    from cockpit.steps.ansible import command_line

    return None if step.ansible is None else command_line(step.ansible, profile, hosts)


def rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    spec = step.ansible
    if spec is None:
        return
    path = (*path, "ansible")
    if (spec.playbook is None) == (spec.module is None):
        ctx.error(path, "[step.ansible] needs exactly one of playbook and module")
    if spec.playbook and ctx.base_dir is not None and not (ctx.base_dir / spec.playbook).expanduser().is_file():
        ctx.error((*path, "playbook"), f"playbook {spec.playbook} not found next to the profile")
    if spec.args and spec.module is None:
        ctx.error((*path, "args"), '"args" is for a module, not a playbook')
    if spec.forks < 1:
        ctx.error((*path, "forks"), "forks must be 1 or more")
    ctx.var_use((*path, "args"), spec.args)


register_step_kind(StepKind(
    name="ansible", runs_on="hosts", execute=execute, preview=preview, previews=True, table=AnsibleSpec,
    rules=rules, command_line=command_line,
    doc="An Ansible playbook or ad-hoc module (`[step.ansible]`) on the step's host group, with per-host "
        "progress (`pip install 'cockpit[ansible]'`).",
))
