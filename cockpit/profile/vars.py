"""``{name}`` substitution of profile vars into commands."""

from __future__ import annotations

import re
from collections.abc import Mapping

VAR_REF = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_MAX_DEPTH = 8


class UndefinedVar(KeyError):
    """A ``{name}`` with no entry in ``[vars]``."""


def var_refs(text: str) -> list[str]:
    """Names referenced as ``{name}`` in ``text`` (``{{x}}`` is a literal, not a reference)."""
    return VAR_REF.findall(text)


def expand_vars(text: str, values: Mapping[str, str]) -> str:
    """Expand ``{name}`` recursively (vars may use vars); ``{{``/``}}`` become literal braces."""
    for _ in range(_MAX_DEPTH):
        refs = var_refs(text)
        if not refs:
            break
        missing = [r for r in refs if r not in values]
        if missing:
            raise UndefinedVar(missing[0])
        text = VAR_REF.sub(lambda m: values[m.group(1)], text)
    return text.replace("{{", "{").replace("}}", "}")
