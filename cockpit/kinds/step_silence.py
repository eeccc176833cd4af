"""``kind = "silence"``: an Alertmanager silence held for the rollback (`cockpit.steps.silence`, `cockpit.held`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import (
    HostDoneHandler,
    KeyPath,
    OutputHandler,
    RuleContext,
    StepKind,
    register_step_kind,
    table_of,
)
from cockpit.profile.model import SilenceSpec

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import silence

    return await silence.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import silence

    return silence.preview(step, ctx)


def matcher_rule(ctx: RuleContext, path: KeyPath, text: str) -> None:
    from cockpit.alertmanager import parse_matcher

    try:
        parse_matcher(text)
    except ValueError as exc:
        ctx.error(path, str(exc))


def alertmanager_sources(ctx: RuleContext) -> list[str]:
    raw = ctx.raw_at(("sources",))
    return [name for name, table in raw.items() if isinstance(table, dict) and table.get("kind") == "alertmanager"]


def rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    spec = table_of(step, "silence", SilenceSpec)
    if spec is None:
        return
    here = (*path, "silence")
    ctx.ref((*here, "source"), "alertmanager source", spec.source, alertmanager_sources(ctx))
    if not spec.matchers:
        ctx.error((*here, "matchers"), "a silence needs at least one matcher")
    for i, text in enumerate(spec.matchers):
        matcher_rule(ctx, (*here, "matchers", i), text)
    if spec.margin >= spec.duration:
        ctx.error((*here, "margin"), "margin must be shorter than duration (the silence is extended when less "
                  "than margin is left)")


register_step_kind(StepKind(
    name="silence", runs_on="none", where="no host: this cockpit calls Alertmanager", execute=execute,
    preview=preview, previews=True, table=SilenceSpec, rules=rules,
    doc="An Alertmanager silence (`[step.silence]`) held for the rollback: extended while it runs, expired "
        "when it ends or is abandoned, reconciled on resume (docs/integrations.md).",
))
