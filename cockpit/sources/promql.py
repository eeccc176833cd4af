"""One round trip per signal: the signal's query, the age of its raw samples and its targets' health.

Why: an instant query answers with the *evaluation* time (``value[0]``), never
the time of the samples it was computed from. After a Prometheus restart with
the target away, the last pre-restart samples are returned for up to the
5-minute lookback, and a recording rule over a dead scrape keeps producing
fresh-looking results for the length of its range. So each signal's query is
sent wrapped in an *envelope* that also asks, in the same request:

- ``min(timestamp(S))`` for every raw vector selector ``S`` of the query
  (found by `selectors`): the time of the OLDEST raw sample under the query;
- the source's declared ``targets`` (``up{job="academy"}``) and their
  ``timestamp(...)``: whether the scrapes feeding the source are alive.

Every part is tagged by a label (`PART`) so the answer can be split again::

    label_replace((Q), "__cockpit_part", "v", "", "")
    or label_replace(min(timestamp(S0)), "__cockpit_part", "t0", "", "")
    or label_replace(up{job="academy"}, "__cockpit_part", "u0", "", "")
    or label_replace(timestamp(up{job="academy"}), "__cockpit_part", "s0", "", "")

Ages are computed on Prometheus's own clock (evaluation time minus sample
time), so a skewed clock on the bastion does not make data look old or young.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PART = "__cockpit_part"

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*")
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end", "atan2"}
_AGGREGATORS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
}


def _skip_string(q: str, i: int) -> int:
    """Index just after the string literal starting at ``q[i]`` (``"…"``, ``'…'`` or a backtick)."""
    quote = q[i]
    i += 1
    while i < len(q):
        if q[i] == "\\" and quote != "`":
            i += 2
            continue
        if q[i] == quote:
            return i + 1
        i += 1
    return i


def _skip_ws(q: str, i: int) -> int:
    while i < len(q):
        if q[i].isspace():
            i += 1
        elif q[i] == "#":  # a comment runs to the end of the line
            while i < len(q) and q[i] != "\n":
                i += 1
        else:
            break
    return i


def _matchers_end(q: str, i: int) -> int:
    """Index just after the ``{…}`` starting at ``q[i]`` (strings inside may hold braces)."""
    i += 1
    while i < len(q) and q[i] != "}":
        i = _skip_string(q, i) if q[i] in "\"'`" else i + 1
    return i + 1


def _paren_end(q: str, i: int) -> int:
    depth = 0
    while i < len(q):
        c = q[i]
        if c in "\"'`":
            i = _skip_string(q, i)
            continue
        depth += {"(": 1, ")": -1}.get(c, 0)
        i += 1
        if depth == 0:
            break
    return i


def selectors(query: str) -> list[str]:
    """The raw vector selectors of a PromQL expression, in order, without duplicates.

    ``sum by (queue) (rate(x_total{code=~"5.."}[1m])) / sum(rate(x_total[1m]))``
    gives ``['x_total{code=~"5.."}', 'x_total']``. Range brackets, ``offset`` and
    ``@`` modifiers are dropped: the age is that of the newest sample of each
    series, which is what an instant query would use.
    """
    out: list[str] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c in "\"'`":
            i = _skip_string(query, i)
        elif c == "#" or c.isspace():
            i = _skip_ws(query, i)
        elif c == "[":  # range or subquery brackets: durations only
            i = query.find("]", i) + 1 or n
        elif c == "{":
            end = _matchers_end(query, i)
            out.append(query[i:end])
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            m = _NUMBER.match(query, i)
            i = m.end() if m and m.end() > i else i + 1
        elif _IDENT.match(query, i):
            m = _IDENT.match(query, i)
            assert m is not None
            word, j = m.group(0), m.end()
            k = _skip_ws(query, j)
            low = word.lower()
            if low in _LABEL_LISTS:
                i = _paren_end(query, k) if k < n and query[k] == "(" else k
            elif k < n and query[k] == "(":
                i = k  # a function or aggregation call: its arguments are scanned next
            elif low in _AGGREGATORS and (nxt := _IDENT.match(query, k)) and nxt.group(0).lower() in (
                "by", "without",
            ):
                i = k
            elif low in _KEYWORDS:
                i = j
            else:
                end = _matchers_end(query, k) if k < n and query[k] == "{" else j
                out.append(word + query[k:end] if end > j else word)
                i = end
        else:
            i += 1
    seen: set[str] = set()
    unique = []
    for s in out:
        key = " ".join(s.split())
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique


def _tag(expr: str, part: str) -> str:
    return f'label_replace(({expr}\n), "{PART}", "{part}", "", "")'


_UP = re.compile(r"\s*up\s*(\{.*\})?\s*$", re.S)


def _health_parts(targets: Sequence[str]) -> list[str]:
    parts = []
    for i, t in enumerate(targets):
        parts.append(_tag(t, f"u{i}"))
        parts.append(_tag(f"timestamp({t})", f"s{i}"))
        m = _UP.match(t)
        if m:  # a scrape that "succeeds" with nothing in it (up == 1, 0 samples) is dead too
            parts.append(_tag(f"scrape_samples_scraped{m.group(1) or ''}", f"n{i}"))
    return parts


def envelope(query: str, targets: Sequence[str]) -> str:
    """The signal's query plus the age of its raw samples and its targets' health, as one query."""
    parts = [_tag(query, "v")]
    parts += [_tag(f"min(timestamp({s}))", f"t{i}") for i, s in enumerate(selectors(query))]
    parts += _health_parts(targets)
    return "\nor ".join(parts)


def health_query(targets: Sequence[str]) -> str | None:
    """Only the targets' part of the envelope (for queries that cannot be wrapped, e.g. scalars)."""
    return "\nor ".join(_health_parts(targets)) or None


def age_query(query: str) -> str | None:
    """Only the sample-age part of the envelope."""
    sels = selectors(query)
    return "\nor ".join(_tag(f"min(timestamp({s}))", f"t{i}") for i, s in enumerate(sels)) or None


@dataclass(frozen=True)
class Target:
    """One scrape target as seen in ``up``: its name, ``up`` value and the age of that sample."""

    name: str  # the ``instance`` label, else the whole label set
    up: float
    age: float  # seconds, on Prometheus's clock
    samples: float | None = None  # `scrape_samples_scraped` of its last scrape (None: not asked)


@dataclass
class Envelope:
    """An envelope's answer, split again."""

    values: list[dict[str, Any]] = field(default_factory=list)  # the signal's own series (raw result items)
    evaluated: float | None = None  # Prometheus's evaluation time
    ages: dict[str, float] = field(default_factory=dict)  # selector -> age of its oldest sample
    targets: dict[str, list[Target]] = field(default_factory=dict)  # target selector -> its `up` series
    wrapped: bool = True  # False: the server ignored the envelope (no part labels at all)


def _name(metric: Mapping[str, str]) -> str:
    if "instance" in metric:
        return metric["instance"]
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k not in ("__name__", PART))
    return "{" + labels + "}"


def split(result: Any, query: str, targets: Sequence[str]) -> Envelope:
    """Split an envelope's ``data.result`` into the signal's series, sample ages and targets."""
    out = Envelope()
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        out.values = result  # let the caller report the shape
        return out
    sels = selectors(query)
    tagged = [r for r in result if isinstance(r.get("metric"), dict) and PART in r["metric"]]
    if result and not tagged:
        out.values, out.wrapped = result, False
        return out
    ups: dict[str, dict[str, float]] = {}
    stamps: dict[str, dict[str, float]] = {}
    counts: dict[str, dict[str, float]] = {}
    for r in tagged:
        metric = dict(r["metric"])
        part = metric.pop(PART)
        try:
            at, raw = float(r["value"][0]), r["value"][1]
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        out.evaluated = at
        kind, idx = part[:1], part[1:]
        if kind == "v":
            out.values.append({**r, "metric": metric})
            continue
        try:
            number = float(raw)
            index = int(idx)
        except ValueError:
            continue
        if kind == "t" and index < len(sels) and math.isfinite(number):
            out.ages[sels[index]] = max(0.0, at - number)
        elif kind == "u" and index < len(targets):
            ups.setdefault(targets[index], {})[_name(metric)] = number
        elif kind == "s" and index < len(targets):
            stamps.setdefault(targets[index], {})[_name(metric)] = max(0.0, at - number)
        elif kind == "n" and index < len(targets):
            counts.setdefault(targets[index], {})[_name(metric)] = number
    for t in targets:
        seen = ups.get(t, {})
        out.targets[t] = [
            Target(name, up, stamps.get(t, {}).get(name, math.inf), counts.get(t, {}).get(name))
            for name, up in sorted(seen.items())
        ]
    return out
