"""``kind = "alertmanager"``: the active alerts of an Alertmanager, paging or silenced (`cockpit.sources.alerts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.kinds import KeyPath, RuleContext, SourceKind, register_source_kind
from cockpit.kinds.step_silence import matcher_rule

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, SignalSpec, SourceSpec
    from cockpit.sources.base import Sampler


def sampler(spec: SourceSpec, profile: Profile, command_sampler: Any) -> Sampler:
    from cockpit.sources.alerts import AlertsSampler

    return AlertsSampler(spec)


def signal_rules(ctx: RuleContext, sig: SignalSpec, src: SourceSpec, path: KeyPath) -> None:
    for i, text in enumerate(sig.filter):
        matcher_rule(ctx, (*path, "filter", i), text)
    if sig.view != "alerts":
        ctx.warning((*path, "view"), 'an alertmanager signal is best drawn with view = "alerts"')


register_source_kind(SourceKind(
    name="alertmanager", sampler=sampler, url=True, signal_keys=("filter",), signal_rules=signal_rules,
    doc="An Alertmanager (API v2): each signal lists the active alerts matching its `filter`, 1 when an alert "
        "pages, 0 when a silence or an inhibition covers it (`view = \"alerts\"`).",
))
