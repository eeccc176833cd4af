"""``kind = "ssh"``: a command printing numbers on the first host of a group (`cockpit.sources.ssh`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.kinds import SourceKind, register_source_kind

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, SourceSpec
    from cockpit.sources.base import Sampler


def sampler(spec: SourceSpec, profile: Profile, command_sampler: Any) -> Sampler:
    from cockpit.sources.ssh import OwnedRunner, SshSampler

    return SshSampler(spec, profile, command_sampler or OwnedRunner(profile))


register_source_kind(SourceKind(
    name="ssh", article="an", sampler=sampler, runs_on="hosts", signal_needs=(("command", ""),),
    signal_keys=("command",),
    doc="A command run over SSH on the first host of `hosts`, printing a number or `label value` lines.",
))
