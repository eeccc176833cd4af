"""``kind = "slack"``: a message posted to a Slack incoming webhook (`cockpit.steps.slack`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, OutputHandler, StepKind, register_step_kind
from cockpit.profile.model import SlackSpec

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import slack

    return await slack.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import slack

    return slack.preview(step, ctx)


register_step_kind(StepKind(
    name="slack", runs_on="none", where="no host: this cockpit posts to Slack", execute=execute,
    preview=preview, previews=True, table=SlackSpec, reports_checks=True,
    doc="A message posted to a Slack incoming webhook (`[step.slack]`), with the incident's facts and checks.",
))
