"""``kind = "http"``: an HTTP probe (status, latency or a JSON value; `cockpit.sources.http`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from cockpit.kinds import KeyPath, RuleContext, SourceKind, register_source_kind

if TYPE_CHECKING:
    from cockpit.profile.model import Profile, SignalSpec, SourceSpec
    from cockpit.sources.base import Sampler

_FIELD = re.compile(r"^(status|latency|json:[^\s.][^\s]*)$")


def sampler(spec: SourceSpec, profile: Profile, command_sampler: Any) -> Sampler:
    from cockpit.sources.http import HttpSampler

    return HttpSampler(spec)


def signal_rules(ctx: RuleContext, sig: SignalSpec, src: SourceSpec, path: KeyPath) -> None:
    if not _FIELD.match(sig.field_):
        ctx.error((*path, "field"), f'field must be "status", "latency" or "json:PATH", not "{sig.field_}"')


register_source_kind(SourceKind(
    name="http", sampler=sampler, url=True, signal_keys=("field",), signal_rules=signal_rules,
    doc="An HTTP probe of `url`: each signal reads its status code, its latency or a value of its JSON "
        "body (`field`).",
))
