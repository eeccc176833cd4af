"""``kind = "manual"``: a step a person does; ticked with a note, never fired."""

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
    from cockpit.steps import manual

    return await manual.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import manual

    return manual.preview(step, ctx)


register_step_kind(StepKind(
    name="manual", runs_on="none", where="no host: a manual step, ticked by hand", execute=execute,
    preview=preview, ticked=True,
    doc="A step a person does (call the DBA, check the status page); ticked in the checklist with a note.",
))
