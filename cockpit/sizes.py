"""Host counts written as a number or a share of the hosts: ``3``, ``"10%"`` (batches, failure budgets)."""

from __future__ import annotations

import math
import re

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class SizeError(ValueError):
    """Not a host count (``3``) or a percentage of the hosts (``"10%"``)."""


def parse_size(value: object, *, zero: bool = False) -> str:
    """``value`` normalised to ``"3"`` or ``"10%"`` (raises :class:`SizeError`)."""
    low = 0 if zero else 1
    if isinstance(value, bool):
        raise SizeError(f"expected a host count or a percentage like \"10%\", got {value!r}")
    if isinstance(value, int):
        if value < low:
            raise SizeError(f"{value} hosts: must be {low} or more")
        return str(value)
    if isinstance(value, str):
        if value.strip().isdigit():
            return parse_size(int(value), zero=zero)
        m = _PERCENT.match(value)
        if m:
            pct = float(m.group(1))
            if not (low <= pct <= 100) or (not zero and pct == 0):
                raise SizeError(f'"{value}": a percentage must be {"0" if zero else "above 0"} to 100%')
            return f"{m.group(1)}%"
    raise SizeError(f'expected a host count or a percentage like "10%", got {value!r}')


def parse_sizes(value: object) -> tuple[str, ...]:
    """A non-empty list of batch sizes (``[1, "10%", "25%"]``)."""
    if not isinstance(value, list) or not value:
        raise SizeError(f'expected a list of batch sizes like [1, "10%", "25%"], got {value!r}')
    return tuple(parse_size(v) for v in value)


def resolve(size: str, total: int, *, at_least_one: bool = True) -> int:
    """``size`` as a number of hosts out of ``total``: a percentage rounds down (as Ansible's ``serial``)."""
    n = math.floor(total * float(size[:-1]) / 100 + 1e-9) if size.endswith("%") else int(size)
    return max(1, n) if at_least_one else n


def plan(sizes: tuple[str, ...], total: int) -> list[int]:
    """Batch sizes covering ``total`` hosts: each size in turn, the last one repeated."""
    out: list[int] = []
    left, i = total, 0
    while left > 0:
        n = min(left, resolve(sizes[min(i, len(sizes) - 1)], total))
        out.append(n)
        left -= n
        i += 1
    return out
