"""``kind = "jira"``: a comment (and attachments) on the change's Jira issue (`cockpit.steps.jira`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, KeyPath, OutputHandler, RuleContext, StepKind, register_step_kind
from cockpit.kinds.step_email import template_found
from cockpit.profile.model import JiraSpec

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import jira

    return await jira.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import jira

    return jira.preview(step, ctx)


def rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    spec = step.jira
    if spec is None:
        return
    template_found(ctx, path, "jira", spec.template)
    if not (spec.body or spec.template or spec.report or spec.attachments):
        ctx.error((*path, "jira"), 'a jira step needs "body", "template", "report" or "attachments"')


register_step_kind(StepKind(
    name="jira", runs_on="none", where="no host: this cockpit calls Jira", execute=execute,
    preview=preview, previews=True, table=JiraSpec, rules=rules, reports_checks=True,
    doc="A comment on the change's Jira issue (`[step.jira]`): a text, a template or the incident timeline, "
        "with attachments.",
))
