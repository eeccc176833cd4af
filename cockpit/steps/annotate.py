"""Grafana annotations: the ``annotate`` step kind (a point), the rollback's region, chosen steps' points.

* ``kind = "annotate"``: posts a point annotation (``[step.annotate] text``/``tags``) through
  the ``[grafana]`` connection; its id is in the step's ``detail``.
* ``[grafana] annotate_rollback = true``: a region annotation is posted when the rollback
  starts (``POST /api/annotations``) and held (`cockpit.held`, resource ``annotation``)
  until it ends, when ``PATCH /api/annotations/:id`` sets its ``timeEnd``; on resume, a
  region whose rollback ended meanwhile is closed at the rollback's end time.
* ``[grafana] annotate_steps = [...]``: those steps get a point annotation when they end
  (``annotation_posted`` in the journal).

The token is a secret (``${env:…}``): only `cockpit.grafana` resolves it, every message is
redacted with it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cockpit import grafana
from cockpit.held import Held, HeldManager
from cockpit.kinds import table_of
from cockpit.profile.model import AnnotateSpec, Profile, StepSpec
from cockpit.results import StepResult
from cockpit.steps.base import Scrubber, StepFailure, finish
from cockpit.steps.context import StepContext
from cockpit.steps.templating import placeholders, render


def _spec(step: StepSpec) -> AnnotateSpec:
    spec: AnnotateSpec | None = table_of(step, "annotate", AnnotateSpec)
    if spec is None:
        raise StepFailure(f"step {step.id} is kind annotate but has no [step.annotate] table")
    return spec


def client(profile: Profile) -> grafana.Client:
    try:
        return grafana.Client(profile.grafana)
    except grafana.GrafanaError as exc:
        raise StepFailure(str(exc)) from None


def tags(profile: Profile, *extra: str) -> list[str]:
    return list(dict.fromkeys([*profile.grafana.tags, profile.cockpit.name, *extra]))


def preview(step: StepSpec, ctx: StepContext) -> str:
    spec = _spec(step)
    text = render(spec.text, placeholders(ctx.facts), where=f"step {step.id}: annotation text")
    from cockpit.steps.http import origin

    where = origin(ctx.profile.grafana.url or "") if ctx.profile.grafana.url else "(no [grafana] url)"
    board = ctx.profile.grafana.dashboard_uid or "every dashboard (organization annotation)"
    return "\n".join([f"Grafana point annotation on {where}, dashboard {board}:", f"  text: {text}",
                      f"  tags: {', '.join(tags(ctx.profile, *spec.tags))}"])


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    spec = _spec(step)
    scrub = Scrubber(ctx, [])
    command = "annotate: POST /api/annotations"
    detail: dict[str, object] = {"required": spec.required}
    try:
        text = render(spec.text, placeholders(ctx.facts), where=f"step {step.id}: annotation text")
        c = client(ctx.profile)
        for value in c.hidden:
            scrub.add(value)
        try:
            ident = await c.annotate(started, text, tags(ctx.profile, *spec.tags))
        except grafana.GrafanaError as exc:
            raise StepFailure(f"annotation not posted: {exc}") from None
        detail.update(annotation_id=ident, text=text)
        return finish(step.id, "ok", started, command=command, scrub=scrub, detail=detail)
    except StepFailure as exc:
        return finish(step.id, "failed", started, command=command, scrub=scrub, reason=exc.reason, detail=detail)


class RegionHandler:
    """The rollback's region annotation as a held resource: nothing to extend; closing sets ``timeEnd``."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    async def extend(self, held: Held, now: float) -> tuple[str, float]:
        return held.id, now      # never called: a region has no end of its own (until is None)

    async def close(self, held: Held, now: float, ended: float | None) -> str:
        c = grafana.Client(self.profile.grafana)
        await c.close_region(int(held.id), ended if ended is not None else now)
        return "closed"

    async def check(self, held: Held) -> tuple[str, float | None]:
        # the journal knows whether it was closed; Grafana keeps annotations until deleted
        return "open", None


def handler(profile: Profile) -> RegionHandler:
    return RegionHandler(profile)


class GrafanaWatcher:
    """``annotate_rollback`` and ``annotate_steps`` of ``[grafana]``."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    async def rollback_started(self, manager: HeldManager, ts: float) -> None:
        if not self.profile.grafana.annotate_rollback:
            return
        text = f"rollback of {self.profile.cockpit.name} ({self.profile.cockpit.environment})"
        what = f"Grafana region annotation \"{text}\""
        try:
            ident = await grafana.Client(self.profile.grafana).annotate(ts, text, tags(self.profile, "rollback"))
        except asyncio.CancelledError:     # the cockpit stopped first: Grafana may have made it all the same
            manager.append("held_failed", resource="annotation", id=None, action="open", what=what, unanswered=True,
                           reason="the cockpit stopped before Grafana answered: the region may exist, "
                                  "without an end (look for it on the dashboard)")
            raise
        except grafana.GrafanaError as exc:
            manager.append("held_failed", resource="annotation", id=None, action="open", what=what,
                           reason=str(exc))
            manager.say(f"Grafana region annotation not posted: {exc}")
            return
        manager.opened("annotation", str(ident), what, step=None, until=None, params={"start": ts}, began=ts)

    async def step_ended(self, manager: HeldManager, step_id: str, state: str, started: float,
                         ended: float) -> None:
        if step_id not in self.profile.grafana.annotate_steps:
            return
        try:
            title = self.profile.step(step_id).title
        except KeyError:
            title = step_id
        text = f"{step_id}: {title} — {state}"
        try:
            ident = await grafana.Client(self.profile.grafana).annotate(started, text,
                                                                         tags(self.profile, "step", step_id))
        except grafana.GrafanaError as exc:
            manager.append("held_failed", resource="annotation", id=None, action="annotate", step=step_id,
                           reason=str(exc))
            manager.say(f"Grafana annotation of {step_id} not posted: {exc}")
            return
        manager.append("annotation_posted", id=str(ident), step=step_id, text=text)


def watcher(profile: Profile) -> GrafanaWatcher | None:
    g: Any = profile.grafana
    return GrafanaWatcher(profile) if (g.annotate_rollback or g.annotate_steps) else None
