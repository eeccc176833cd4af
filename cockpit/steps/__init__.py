"""The one way the controller executes and previews a step its kind executes itself.

Every kind but the remote-command one (``ssh``, run by `cockpit.runner`) has an ``execute`` and
usually a ``preview`` in its record (`cockpit.kinds`); :func:`execute` and :func:`preview` look
them up. Neither raises for an expected problem (bad template, unknown placeholder, missing secret,
a server that refuses or hangs): ``execute`` returns a failed ``StepResult`` whose ``reason`` says
why, ``preview`` returns text starting with ``cannot preview:``. Every string they return is
redacted. Executors are never called in read-only mode: the guard refuses first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from cockpit.kinds import KindError, step_kind
from cockpit.profile.model import StepSpec
from cockpit.results import HostResult, OutputLine, StepResult
from cockpit.steps.base import Scrubber, StepFailure, finish, spec_secrets
from cockpit.steps.context import IncidentFacts, StepContext

__all__ = ["IncidentFacts", "StepContext", "execute", "preview"]

PREVIEW_FAILED = "cannot preview: "


async def execute(
    step: StepSpec,
    ctx: StepContext,
    on_output: Callable[[OutputLine], None] | None = None,
    hosts: Sequence[str] | None = None,
    on_host_done: Callable[[HostResult], None] | None = None,
) -> StepResult:
    """Run one step through its kind's executor (``hosts``: the selection of a kind that runs on
    hosts). Never raises for expected failures; cancellation propagates."""
    started = time.time()
    scrub = Scrubber(ctx, [])
    try:
        kind = step_kind(step.kind)
        scrub = Scrubber(ctx, spec_secrets(kind.spec_of(step)))
        if kind.execute is None:
            raise StepFailure(f"step {step.id}: kind {step.kind!r} is not run by cockpit.steps")
        return await kind.execute(step, ctx, on_output, hosts, on_host_done)
    except KindError as exc:
        return finish(step.id, "failed", started, command=None, scrub=scrub, reason=str(exc))
    except StepFailure as exc:
        return finish(step.id, "failed", started, command=None, scrub=scrub, reason=exc.reason)
    except Exception as exc:  # a bug must not take the cockpit down: say what happened
        reason = f"internal error in the {step.kind} step: {type(exc).__name__}: {exc}"
        return finish(step.id, "failed", started, command=None, scrub=scrub, reason=reason)


async def preview(step: StepSpec, ctx: StepContext) -> str:
    """What the step will send or run, for the confirmation screen (redacted)."""
    scrub = Scrubber(ctx, [])
    try:
        kind = step_kind(step.kind)
        scrub = Scrubber(ctx, spec_secrets(kind.spec_of(step)))
        if kind.preview is None:
            return scrub(f"{PREVIEW_FAILED}kind {step.kind!r} is not previewed by cockpit.steps")
        return scrub(kind.preview(step, ctx))
    except KindError as exc:
        return scrub(PREVIEW_FAILED + str(exc))
    except StepFailure as exc:
        return scrub(PREVIEW_FAILED + exc.reason)
    except Exception as exc:
        return scrub(f"{PREVIEW_FAILED}{type(exc).__name__}: {exc}")
