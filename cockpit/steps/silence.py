"""``kind = "silence"``: an Alertmanager silence held for the rollback (`cockpit.held`).

Firing the step POSTs ``/api/v2/silences`` (the matchers of ``[step.silence]``,
``startsAt`` now, ``endsAt`` now + ``duration``, ``createdBy`` the driver's Unix user,
a ``comment`` naming the incident) on the alertmanager source it names, and returns
the silence id in ``detail["held"]``: the controller journals it (``held_opened``)
and from then on the silence is the rollback's to keep: extended while the rollback
runs past ``endsAt - margin``, expired (``DELETE /api/v2/silence/{id}``) when it
ends or is abandoned, reconciled on resume. A silence cockpit could not expire is
named in the report's summary.

A silence that cannot be created fails the step with the reason (the checklist
row says it). Unless ``required = true``, steps listing it in ``after`` still run
(the guard counts it as settled): a pager that keeps ringing is a nuisance, a
rollback held back by Alertmanager is an outage.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path

from cockpit import alertmanager
from cockpit.held import Held
from cockpit.kinds import table_of
from cockpit.profile.model import Profile, SilenceSpec, SourceSpec, StepSpec
from cockpit.results import StepResult
from cockpit.steps.base import Scrubber, StepFailure, finish
from cockpit.steps.context import StepContext
from cockpit.steps.templating import placeholders, render


def _spec(step: StepSpec) -> SilenceSpec:
    spec: SilenceSpec | None = table_of(step, "silence", SilenceSpec)
    if spec is None:
        raise StepFailure(f"step {step.id} is kind silence but has no [step.silence] table")
    return spec


def _source(profile: Profile, name: str) -> SourceSpec:
    src = profile.sources.get(name)   # its kind is checked when the profile is loaded
    if src is None or not src.url:
        raise StepFailure(f"source {name!r} is not an alertmanager source with a url")
    return src


def client_for(profile: Profile, source: str) -> alertmanager.Client:
    """The Alertmanager client of an alertmanager source (its url, headers, CA bundle, timeout)."""
    src = _source(profile, source)
    verify: ssl.SSLContext | bool = True
    if src.ca_bundle:
        path = Path(src.ca_bundle).expanduser()
        if not path.is_absolute():
            path = Path(profile.path).expanduser().resolve().parent / path
        try:
            verify = ssl.create_default_context(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise StepFailure(f"cannot load the CA bundle {src.ca_bundle}: {exc}") from None
    try:
        return alertmanager.Client(src.url or "", headers=src.headers, timeout=max(src.timeout, 5.0), verify=verify)
    except alertmanager.AlertmanagerError as exc:
        raise StepFailure(str(exc)) from None


def matchers(spec: SilenceSpec) -> list[alertmanager.Matcher]:
    try:
        return [alertmanager.parse_matcher(m) for m in spec.matchers]
    except ValueError as exc:
        raise StepFailure(str(exc)) from None


def comment(step: StepSpec, ctx: StepContext) -> str:
    values = placeholders(ctx.facts)
    values["incident"] = Path(ctx.journal_path).stem if ctx.journal_path else "(no journal)"
    return render(_spec(step).comment, values, where=f"step {step.id}: silence comment")


def created_by(ctx: StepContext) -> str:
    """The driver's Unix user (``user@host`` → ``user``)."""
    return ctx.facts.driver.rpartition("@")[0] or ctx.facts.driver


def describe(spec: SilenceSpec) -> str:
    return f"silence {', '.join(spec.matchers)} on {spec.source}"


def preview(step: StepSpec, ctx: StepContext) -> str:
    spec = _spec(step)
    shown = ", ".join(str(m) for m in matchers(spec))
    src = _source(ctx.profile, spec.source)
    from cockpit.durations import format_duration
    from cockpit.steps.http import origin

    return "\n".join([
        f"Alertmanager silence on {spec.source} ({origin(src.url or '')}):",
        f"  matchers: {shown}",
        f"  for {format_duration(spec.duration)}, extended while the rollback runs (when less than "
        f"{format_duration(spec.margin)} is left), expired when it ends",
        f"  createdBy: {created_by(ctx)}",
        f"  comment: {comment(step, ctx)}",
        "  required: yes (steps after it wait for it)" if spec.required
        else "  required: no (if it fails, the rollback goes on; the row says why)",
    ])


async def execute(step: StepSpec, ctx: StepContext) -> StepResult:
    started = time.time()
    spec = _spec(step)
    scrub = Scrubber(ctx, [])
    command = f"silence: POST /api/v2/silences on {spec.source}"
    detail: dict[str, object] = {"matchers": list(spec.matchers), "source": spec.source, "required": spec.required}
    try:
        found = matchers(spec)
        client = client_for(ctx.profile, spec.source)
        for value in client.hidden:
            scrub.add(value)
        text = comment(step, ctx)
        ends = started + spec.duration
        try:
            sid = await client.create_silence(found, started, ends, created_by(ctx), text)
        except alertmanager.AlertmanagerError as exc:
            raise StepFailure(f"silence not created: {exc}" + ("" if spec.required else
                              " (not required: the rollback goes on, the alerts may page)")) from None
        detail.update(silence_id=sid, ends_at=ends, comment=text)
        detail["held"] = {"kind": "silence", "id": sid, "what": describe(spec), "until": ends,
                          "params": {"source": spec.source, "duration": spec.duration, "margin": spec.margin}}
        return finish(step.id, "ok", started, command=command, scrub=scrub, detail=detail)
    except StepFailure as exc:
        detail.update(exc.detail)
        return finish(step.id, "failed", started, command=command, scrub=scrub, reason=exc.reason, detail=detail)


class SilenceHandler:
    """The held-resource side of a silence: extend, expire, check (`cockpit.held.Handler`)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def _client(self, held: Held) -> alertmanager.Client:
        source = str(held.params.get("source", ""))
        try:
            return client_for(self.profile, source)
        except StepFailure as exc:
            raise alertmanager.AlertmanagerError(exc.reason) from None

    async def extend(self, held: Held, now: float) -> tuple[str, float]:
        until = now + float(held.params.get("duration", 1800.0))
        return await self._client(held).extend_silence(held.id, until), until

    async def close(self, held: Held, now: float, ended: float | None) -> str:
        client = self._client(held)
        await client.expire_silence(held.id)
        return "expired"

    async def check(self, held: Held) -> tuple[str, float | None]:
        found = await self._client(held).get_silence(held.id)
        if found is None:
            return "gone", None
        if found.state == "expired":
            return "ended", found.ends_at
        return "open", found.ends_at


def handler(profile: Profile) -> SilenceHandler:
    return SilenceHandler(profile)


