"""``kind = "email"``: a Markdown template sent over SMTP or written to an outbox (`cockpit.steps.mail`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, KeyPath, OutputHandler, RuleContext, StepKind, register_step_kind
from cockpit.profile.model import EmailSpec

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import mail

    return await mail.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import mail

    return mail.preview(step, ctx)


def template_found(ctx: RuleContext, path: KeyPath, table: str, template: str | None) -> None:
    """A warning when a table's ``template`` file is not next to the profile (shared with jira)."""
    if template and ctx.base_dir is not None and not (ctx.base_dir / template).expanduser().is_file():
        written = ctx.raw_at((*path, table)).get("template", template)
        ctx.warning((*path, table, "template"), f'template file "{written}" not found (relative to the profile)')


def rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    spec = step.email
    if spec is None:
        return
    template_found(ctx, path, "email", spec.template)
    if not spec.to:
        ctx.error((*path, "email", "to"), "an email step needs at least one recipient")


register_step_kind(StepKind(
    name="email", runs_on="none", where="no host: this cockpit sends the email", execute=execute,
    preview=preview, previews=True, table=EmailSpec, rules=rules, reports_checks=True,
    doc="An email from a Markdown template (`[step.email]`), sent over SMTP (STARTTLS) or written to an outbox.",
))
