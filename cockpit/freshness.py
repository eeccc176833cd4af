"""What "fresh" means, in one place: sample age limits, a sample's provenance, and its evidence.

A live value is *fresh* when all of these hold at the moment it is judged:

1. its source answered the last poll (no error, no timeout), and answered
   within ``2 × interval + timeout`` (else it is *overdue*);
2. the OLDEST raw sample the value was computed from is at most ``max_age``
   old (prometheus: ``min(timestamp(S))`` of every selector ``S`` of the
   query; http/ssh: the answer itself is the sample);
3. every scrape target the source declares (``targets``) has ``up == 1`` and
   that ``up`` sample is itself at most ``max_age`` old.

Anything else is *stale*: the panel says "stale Ns (reason)" and every check
on the signal is ``unknown``. ``max_age`` defaults to
``2 × scrape_interval + 5 s`` (one missed scrape is tolerated, two are not).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from cockpit.kinds import source_kind
from cockpit.profile.model import Profile, SignalSpec, SourceSpec

MARGIN = 5.0  # seconds added to 2 × scrape_interval for the default max_age


def max_age_of(profile: Profile, signal: SignalSpec) -> float | None:
    """The signal's sample-age limit: its own ``max_age``, else its source's, else the default.

    None for sources whose samples are the answer itself (http, ssh): their age is
    covered by the overdue rule.
    """
    if signal.max_age is not None:
        return signal.max_age
    src = profile.sources.get(signal.source)
    if src is None or not source_kind(src.kind).sample_age:
        return None
    return source_max_age(src)


def source_max_age(src: SourceSpec) -> float:
    """A prometheus source's ``max_age``, else ``2 × scrape_interval + 5 s``."""
    return src.max_age if src.max_age is not None else 2 * src.scrape_interval + MARGIN


class Sample(dict[str, float]):
    """Label -> value (a plain `Values`), plus where the values came from.

    ``age`` is the age of the oldest raw sample under the query at the moment the
    source evaluated it (None: unknown, e.g. a query without selectors); the store
    turns it into a sample time on the local clock. ``problem`` is a health problem
    of the source's scrape targets ("target 127.0.0.1:9392 down since 12:03:04"):
    with one, the values are kept for the record but never count as fresh.
    """

    def __init__(
        self,
        values: Mapping[str, float] | Iterable[tuple[str, float]] = (),
        *,
        query: str | None = None,
        age: float | None = None,
        ages: Mapping[str, float] | None = None,
        targets: Iterable[Mapping[str, Any]] = (),
        problem: str | None = None,
    ) -> None:
        super().__init__(values)
        self.query = query
        self.age = age
        self.ages = dict(ages or {})
        self.targets = [dict(t) for t in targets]
        self.problem = problem


def json_number(v: float) -> float | None:
    """A value as JSON can carry it: NaN and ±Inf become None (their reason is given beside)."""
    return v if math.isfinite(v) else None


def nonfinite_reason(v: float) -> str | None:
    """Why a value is not usable as a number, or None."""
    if math.isnan(v):
        return "NaN (not a number)"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return None
