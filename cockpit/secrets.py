"""``${env:NAME}`` references: secrets stay references until the moment they are used.

Profiles name secrets (tokens, webhook URLs, passwords) as ``${env:NAME}``. The
profile object keeps the reference text; only :func:`resolve` reads the
environment, at the moment a request is built. Anything shown, logged or
journalled goes through :func:`redact` first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


class SecretError(LookupError):
    """A ``${env:NAME}`` reference whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (referenced as ${{env:{name}}})")
        self.name = name


def env_refs(text: str) -> list[str]:
    """Names of the environment variables referenced in ``text``."""
    return ENV_REF.findall(text)


def resolve(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Substitute every ``${env:NAME}``; raise :class:`SecretError` when one is unset."""
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise SecretError(name)
        return env[name]

    return ENV_REF.sub(sub, text)


def secret_values(texts: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The current values of every variable referenced by ``texts`` (for redaction)."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    for t in texts:
        for name in env_refs(t):
            v = env.get(name)
            if v and len(v) >= 4 and v not in out:
                out.append(v)
    return out


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in ``text`` with ``[redacted]``."""
    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
            text = text.replace(s, "[redacted]")
    return text
