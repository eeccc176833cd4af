"""``kind = "annotate"``: a Grafana point annotation (`cockpit.steps.annotate`, `[grafana]`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cockpit.kinds import HostDoneHandler, KeyPath, OutputHandler, RuleContext, StepKind, register_step_kind
from cockpit.profile.model import AnnotateSpec

if TYPE_CHECKING:
    from cockpit.profile.model import StepSpec
    from cockpit.results import StepResult
    from cockpit.steps.context import StepContext


async def execute(step: StepSpec, ctx: StepContext, on_output: OutputHandler | None,
                  hosts: Sequence[str] | None, on_host_done: HostDoneHandler | None) -> StepResult:
    from cockpit.steps import annotate

    return await annotate.execute(step, ctx)


def preview(step: StepSpec, ctx: StepContext) -> str:
    from cockpit.steps import annotate

    return annotate.preview(step, ctx)


def rules(ctx: RuleContext, step: StepSpec, path: KeyPath) -> None:
    grafana = ctx.raw_at(("grafana",))
    if not grafana.get("url") or not grafana.get("token"):
        ctx.error((*path, "annotate"), "Grafana annotations need [grafana] url and token (a service-account token)")


register_step_kind(StepKind(
    name="annotate", runs_on="none", where="no host: this cockpit calls Grafana", execute=execute,
    preview=preview, previews=True, table=AnnotateSpec, rules=rules,
    doc="A Grafana point annotation (`[step.annotate]`) through the `[grafana]` connection (docs/integrations.md).",
))
