"""``kind = "local"``: a command run on this machine (the bastion), in its own process group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, OutputHandler, StepKind, register_step_kind

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import local

    return await local.execute(step, ctx, on_output)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import local

    return local.preview(step, ctx)


register_step_kind(StepKind(
    name="local", runs_on="local", where="this machine (the bastion)", execute=execute, preview=preview,
    takes_command=True,
    doc="A command run on this machine (the bastion) in its own process group; it dies with the cockpit.",
))
