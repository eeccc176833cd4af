"""Per-host slices of an OpenSSH client config, so each connect parses a few lines, not the file.

asyncssh re-reads and ``shlex``-splits the whole config file on every connect. With one
``Host`` block per server (the usual bastion config), opening N connections costs
O(N x file) — seconds at N = 200. Here the file is split once; for each host the slice
keeps the lines before the first block, every ``Match`` block, and the ``Host`` blocks
whose patterns match the host name, using asyncssh's own matcher on the name as given
(what asyncssh and OpenSSH match ``Host`` against). asyncssh then parses that slice
with its usual semantics; the slice is written to a temporary file that exists only
while asyncssh reads it (asyncssh reads configs from paths only). Files using
``Include`` or ``CanonicalizeHostname`` (which can change the name ``Host`` is matched
against) are passed whole.
"""

from __future__ import annotations

import contextlib
import glob
import re
import shlex
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from asyncssh.pattern import WildcardPatternList

_WHOLE_FILE_KEYWORDS = {"include", "canonicalizehostname"}


@dataclass(frozen=True)
class _Block:
    keyword: str  # "" for the lines before the first Host/Match, else "host" or "match"
    text: str
    hosts: WildcardPatternList | None = None  # a Host block's patterns (None: keep the block)
    literal: tuple[str, ...] | None = None  # every pattern a plain name (no * ? !): matched by a dict lookup

    def applies_to(self, host: str) -> bool:
        return self.hosts is None or self.hosts.matches(host)


def _literal_names(keyword: str, rest: str) -> tuple[str, ...] | None:
    """A ``Host`` line's names when every pattern is a plain name (asyncssh matches only ``*`` and
    ``?`` as wildcards and ``!`` as negation; a plain name matches exactly that host)."""
    if keyword != "host":
        return None
    try:
        names = ",".join(shlex.split(rest)).split(",")
    except ValueError:
        return None
    if not names or any(not n or n.startswith("!") or "*" in n or "?" in n for n in names):
        return None
    return tuple(names)


def _host_patterns(keyword: str, rest: str) -> WildcardPatternList | None:
    if keyword != "host":
        return None
    try:
        return WildcardPatternList(",".join(shlex.split(rest)))
    except ValueError:
        return None  # malformed: keep the block, asyncssh reports it


_LINE = re.compile(r"^\s*([A-Za-z]+)(?:\s*=\s*|\s+|$)(.*?)\s*$")


def keyword_of(line: str) -> tuple[str, str]:
    """``(keyword lowercased, rest)`` of a config line; ``("", "")`` for a comment or blank line."""
    return _keyword(line)


def _keyword(line: str) -> tuple[str, str]:
    """``(keyword lowercased, rest)`` of a config line (``Key value`` or ``Key=value``)."""
    if line.lstrip().startswith("#"):
        return "", ""
    m = _LINE.match(line)
    return (m.group(1).lower(), m.group(2)) if m else ("", "")


class ConfigSlicer:
    """Splits ``path`` once; :meth:`for_host` gives the config file to hand asyncssh for a host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._blocks: list[_Block] | None = None
        self._slices: dict[str, str] = {}  # host -> slice text
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks: list[_Block] = []
        keyword, rest, lines = "", "", list[str]()
        for line in text.splitlines(keepends=True):
            key, args = _keyword(line)
            if key in _WHOLE_FILE_KEYWORDS:
                return  # whole file: the slices could differ from what asyncssh would do
            if key in ("host", "match"):
                blocks.append(_Block(keyword, "".join(lines), _host_patterns(keyword, rest),
                                     _literal_names(keyword, rest)))
                keyword, rest, lines = key, args, []
            lines.append(line if line.endswith("\n") else line + "\n")
        blocks.append(_Block(keyword, "".join(lines), _host_patterns(keyword, rest), _literal_names(keyword, rest)))
        self._blocks = blocks
        # 1,000 ``Host name`` blocks: matching every block for every host is a million fnmatch
        # calls (seconds of CPU at connect time); plain names are looked up instead
        self._by_name: dict[str, list[int]] = {}
        self._scan: list[int] = []   # blocks matched per host: no patterns, or wildcards/negations
        for i, block in enumerate(self._blocks):
            if block.literal is None:
                self._scan.append(i)
            else:
                for name in dict.fromkeys(block.literal):
                    self._by_name.setdefault(name, []).append(i)

    def text_for(self, host: str) -> str | None:
        """The slice's text for ``host`` (None when the whole file is used)."""
        if self._blocks is None:
            return None
        text = self._slices.get(host)
        if text is None:
            blocks = self._blocks
            chosen = sorted([*self._by_name.get(host, ()), *(i for i in self._scan if blocks[i].applies_to(host))])
            text = self._slices[host] = "".join(blocks[i].text for i in chosen)
        return text

    @contextlib.contextmanager
    def path_for(self, host: str) -> Iterator[str]:
        """A config file for asyncssh to read for ``host``, existing only inside the ``with``."""
        text = self.text_for(host)
        if text is None:
            yield str(self.path)
            return
        with tempfile.NamedTemporaryFile("w", prefix="cockpit-ssh-config-", suffix=".conf") as f:
            f.write(text)
            f.flush()
            yield f.name


class ConfigError(Exception):
    """An ssh config (or a file it includes) cannot be read."""


MAX_INCLUDE_DEPTH = 16  # OpenSSH's READCONF_MAX_DEPTH


def _include_paths(arg: str) -> list[Path]:
    """``Include`` arguments as files: ``~`` expanded, relative to ``~/.ssh`` (a user config), globbed."""
    found: list[Path] = []
    for word in shlex.split(arg):
        pattern = Path(word).expanduser()
        if not pattern.is_absolute():
            pattern = Path("~/.ssh").expanduser() / pattern
        found += [Path(p) for p in sorted(glob.glob(str(pattern)))]
    return found


def config_hosts(path: Path, depth: int = 0) -> list[str]:
    """The concrete aliases on ``Host`` lines of ``path`` and the files it ``Include``s, in order, once each.

    Patterns (``*``, ``?``, ``!neg``) are not hosts and are left out.
    """
    if depth > MAX_INCLUDE_DEPTH:
        raise ConfigError(f"ssh config {path}: Include nested more than {MAX_INCLUDE_DEPTH} deep")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError(f"ssh config {path} cannot be read: {exc.strerror or exc}") from None
    hosts: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        key, args = _keyword(line)
        try:
            if key == "host":
                hosts += [w for w in shlex.split(args) if not any(c in w for c in "*?!")]
            elif key == "include":
                for included in _include_paths(args):
                    hosts += config_hosts(included, depth + 1)
        except ValueError as exc:
            raise ConfigError(f"ssh config {path}:{number}: {exc}") from None
    return list(dict.fromkeys(hosts))
