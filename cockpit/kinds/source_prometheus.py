"""``kind = "prometheus"``: PromQL instant queries (`cockpit.sources.prometheus`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.kinds import SourceKind, register_source_kind

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, SourceSpec
    from cockpit.sources.base import Sampler


def sampler(spec: SourceSpec, profile: Profile, command_sampler: Any) -> Sampler:
    from cockpit.sources.prometheus import PrometheusSampler  # prometheus-api-client: slow to import

    return PrometheusSampler(spec, step=spec.interval or profile.cockpit.refresh)


register_source_kind(SourceKind(
    name="prometheus", sampler=sampler, url=True, signal_needs=(("query", " (PromQL)"),),
    signal_keys=("query",), sample_age=True,
    doc="A Prometheus server: each signal is a PromQL instant query; samples carry their age and the "
        "health of the scrape targets (`targets`).",
))
