"""Loading a profile: TOML -> validated, immutable `Profile` (or every problem, by line).

``load_profile(path)`` is what the app uses; ``validate(path)`` is what
``cockpit check`` uses (it also returns warnings, such as unset
``${env:NAME}`` variables, which do not stop a profile from loading).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path as FsPath
from types import MappingProxyType
from typing import Any

from cockpit.profile.convert import INVALID, Converter, Reporter
from cockpit.profile.model import InventorySpec, Profile, SshSettings
from cockpit.profile.positions import key_lines
from cockpit.profile.problems import Problem, ProfileError, errors, sort_problems
from cockpit.profile.rules import Rules
from cockpit.profile.schema import fields_of

__all__ = ["Problem", "ProfileError", "load_profile", "parse_profile", "validate"]

_TOML_POS = re.compile(r"^(?P<msg>.*?) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$")


def load_profile(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Profile:
    """The profile at ``path``; raises `ProfileError` (with ``.problems``) when it has errors."""
    profile, problems = validate(path, environ)
    if profile is None:
        raise ProfileError(str(path), errors(problems))
    return profile


def validate(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> tuple[Profile | None, list[Problem]]:
    """``(profile, problems)`` sorted by line; profile is None when any problem is an error."""
    try:
        data = FsPath(path).read_bytes()
    except OSError as e:
        return None, [Problem(0, f"cannot read profile: {e.strerror or e}")]
    return parse_profile(data, str(FsPath(path).resolve()), environ)


def parse_profile(
    data: bytes, path: str = "<profile>", environ: Mapping[str, str] | None = None
) -> tuple[Profile | None, list[Problem]]:
    """Validate the bytes of a profile; ``path`` becomes `Profile.path`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, [Problem(line, f"not UTF-8 text (byte 0x{data[e.start]:02x})")]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, [_syntax_problem(str(e), text)]

    rep = Reporter(raw, key_lines(text))
    base_dir = FsPath(path).parent if FsPath(path).is_absolute() else None
    conv = Converter(rep, base_dir)
    parts, _ = conv.fields(
        Profile, raw, (), injected={"path": path, "sha256": hashlib.sha256(data).hexdigest()}
    )
    rules = Rules(raw, parts, conv, base_dir)
    rules.groups += _merge_inventory(raw, parts, rep, base_dir)
    rules.run(environ)
    problems = sort_problems(rep.problems)
    if errors(problems) or any(
        parts.get(f.name, INVALID) is INVALID for f in fields_of(Profile) if f.required
    ):
        return None, problems
    return Profile(**parts), problems


def _merge_inventory(
    raw: Mapping[str, Any], parts: dict[str, Any], rep: Reporter, base_dir: FsPath | None
) -> list[str]:
    """Read ``[inventory]``'s groups into ``parts["hosts"]`` (problems reported); the names of the groups added."""
    spec = parts.get("inventory")
    if not isinstance(spec, InventorySpec) or not (spec.ansible or spec.ssh_config):
        return []
    from cockpit.inventory import load_inventory

    ssh = parts.get("ssh")
    inv = load_inventory(spec, base_dir, ssh if isinstance(ssh, SshSettings) else None)
    for at, message in inv.problems:
        rep.error(("inventory", *at), message)
    hosts = parts.get("hosts")
    declared = dict(hosts) if isinstance(hosts, Mapping) else {}
    raw_hosts = raw.get("hosts")
    for name in inv.groups:
        if isinstance(raw_hosts, dict) and name in raw_hosts:
            rep.error(("hosts", name), f'group "{name}" is also read from {inv.sources[name]}: rename one')
    parts["hosts"] = MappingProxyType({**inv.groups, **declared})
    parts["host_vars"] = MappingProxyType(dict(inv.host_vars))
    parts["host_sources"] = MappingProxyType(dict(inv.sources))
    parts["inventory_cache"] = MappingProxyType(dict(inv.cache))
    return [g for g in inv.groups if g not in declared]


def _syntax_problem(message: str, text: str) -> Problem:
    """tomllib's message with its position as the line; duplicate keys named as such."""
    m = _TOML_POS.match(message)
    if not m:
        return Problem(1, f"TOML syntax error: {message}")
    msg = m.group("msg")
    lines = text.splitlines()
    line = int(m.group("line")) if m.group("line") else max(len(lines), 1)
    col = f", column {m.group('col')}" if m.group("col") else ""
    if msg.startswith(("Cannot overwrite a value", "Cannot declare")):
        src = lines[line - 1].split("#", 1)[0].strip() if 0 < line <= len(lines) else ""
        if src.startswith("["):
            msg = f"duplicate table {src}: it is already defined above"
        elif "=" in src:
            msg = f'duplicate key "{src.split("=", 1)[0].strip()}": it is already set above'
        else:
            msg = "duplicate key or table"
        return Problem(line, f"TOML syntax error: {msg}")
    return Problem(line, f"TOML syntax error: {msg}{col}")

