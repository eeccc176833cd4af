"""Check conditions such as ``"< 100"``, ``"<= 0.001"``, ``"== 200"``, ``"!= 0"``."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_RE = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class ConditionError(ValueError):
    """A condition string that cannot be read."""


@dataclass(frozen=True)
class Condition:
    """A comparison every series of a signal must hold."""

    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        """True when ``value`` satisfies the condition; NaN and ±Inf never do.

        A non-finite value is not a measurement (0/0, x/0): ``-Inf`` must not pass
        ``< 0.001`` nor ``+Inf`` pass ``> 0``.
        """
        if not math.isfinite(value):
            return False
        return _OPS[self.op](value, self.threshold)

    def __str__(self) -> str:
        t = self.threshold
        shown = str(int(t)) if t.is_integer() and abs(t) < 1e15 else repr(t)
        return f"{self.op} {shown}"


def parse_condition(text: str) -> Condition:
    """Parse ``"< 100"`` into ``Condition("<", 100.0)``."""
    if not isinstance(text, str):
        raise ConditionError(f"expected a condition like \"< 100\", got {text!r}")
    m = _RE.match(text)
    if not m:
        raise ConditionError(
            f"bad condition {text!r}: use an operator (<, <=, >, >=, ==, !=) and a number, e.g. \"< 100\""
        )
    threshold = float(m.group(2))
    if not math.isfinite(threshold):   # "< 1e400" reads as "< inf": a check that could never fail
        raise ConditionError(f"{text!r}: the threshold is not a finite number")
    return Condition(m.group(1), threshold)
