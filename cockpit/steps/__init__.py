"""Executors of the step kinds other than ``ssh`` (which is the runner's).

The controller calls :func:`execute` for every step whose kind is not ``ssh`` and
:func:`preview` to show what will be sent before the confirmation. Neither raises
for an expected problem (bad template, unknown placeholder, missing secret, a
server that refuses or hangs): ``execute`` returns a failed ``StepResult`` whose
``reason`` says why, ``preview`` returns text starting with ``cannot preview:``.
Every string they return is redacted. Executors are never called in read-only
mode: the guard refuses first.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from cockpit.profile.model import StepSpec
from cockpit.results import OutputLine, StepResult
from cockpit.steps.base import Scrubber, StepFailure, finish, spec_secrets
from cockpit.steps.context import IncidentFacts, StepContext

__all__ = ["IncidentFacts", "StepContext", "execute", "preview"]

PREVIEW_FAILED = "cannot preview: "


def _spec_of(step: StepSpec) -> object:
    return {"slack": step.slack, "email": step.email, "jira": step.jira}.get(step.kind)


async def execute(
    step: StepSpec, ctx: StepContext, on_output: Callable[[OutputLine], None] | None = None
) -> StepResult:
    """Run one non-ssh step. Never raises for expected failures; cancellation propagates."""
    from cockpit.steps import annotate, jira, local, mail, manual, silence, slack

    started = time.time()
    runners: dict[str, Callable[[StepSpec, StepContext], Awaitable[StepResult]]] = {
        "slack": slack.execute,
        "email": mail.execute,
        "jira": jira.execute,
        "manual": manual.execute,
        "silence": silence.execute,
        "annotate": annotate.execute,
    }
    scrub = Scrubber(ctx, spec_secrets(_spec_of(step)))
    try:
        if step.kind == "local":
            return await local.execute(step, ctx, on_output)
        if step.kind == "ansible":
            from cockpit.steps import ansible

            return await ansible.execute(step, ctx, on_output)
        runner = runners.get(step.kind)
        if runner is None:
            raise StepFailure(f"step {step.id}: kind {step.kind!r} is not run by cockpit.steps")
        return await runner(step, ctx)
    except StepFailure as exc:
        return finish(step.id, "failed", started, command=None, scrub=scrub, reason=exc.reason)
    except Exception as exc:  # a bug must not take the cockpit down: say what happened
        reason = f"internal error in the {step.kind} step: {type(exc).__name__}: {exc}"
        return finish(step.id, "failed", started, command=None, scrub=scrub, reason=reason)


async def preview(step: StepSpec, ctx: StepContext) -> str:
    """What the step will send or run, for the confirmation screen (redacted)."""
    from cockpit.steps import annotate, jira, local, mail, manual, silence, slack

    renderers: dict[str, Callable[[StepSpec, StepContext], str]] = {
        "slack": slack.preview,
        "email": mail.preview,
        "jira": jira.preview,
        "local": local.preview,
        "manual": manual.preview,
        "silence": silence.preview,
        "annotate": annotate.preview,
    }
    if step.kind == "ansible":
        from cockpit.steps import ansible

        renderers["ansible"] = ansible.preview
    scrub = Scrubber(ctx, spec_secrets(_spec_of(step)))
    render = renderers.get(step.kind)
    if render is None:
        return scrub(f"{PREVIEW_FAILED}kind {step.kind!r} is not previewed by cockpit.steps")
    try:
        return scrub(render(step, ctx))
    except StepFailure as exc:
        return scrub(PREVIEW_FAILED + exc.reason)
    except Exception as exc:
        return scrub(f"{PREVIEW_FAILED}{type(exc).__name__}: {exc}")
