"""``kind = "manual"``: a step done by a person; executing it records the tick and its note."""

from __future__ import annotations

import time

from cockpit.profile.model import StepSpec
from cockpit.results import StepResult
from cockpit.steps.base import finish
from cockpit.steps.context import StepContext


def preview(step: StepSpec, ctx: StepContext) -> str:
    text = f"Manual step: {step.title}. Tick it when it is done"
    return text + (f"\n{step.note}" if step.note else ".")


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    note = ctx.note if ctx.note is not None else ""
    return finish(step.id, "ok", started, command=None, scrub=ctx.redact,
                  detail={"note": ctx.redact(note), "driver": ctx.facts.driver})
