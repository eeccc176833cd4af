"""The profile's ``[ssh]`` table turned into asyncssh connect arguments, loaded once per pool."""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
from asyncssh.config import SSHClientConfig, SSHConfig
from asyncssh.encryption import get_default_encryption_algs
from asyncssh.public_key import load_default_keypairs

from cockpit.profile.model import HostAddress, SshSettings
from cockpit.ssh.hostkeys import DEFAULT_SSH_PORT, load_known_hosts
from cockpit.ssh.sshconfig import ConfigSlicer, keyword_of

# the keywords a host's config slice may hold for the fast path (see ConnectSettings.kwargs)
SIMPLE_KEYWORDS = frozenset({"host", "hostname", "port", "user", "identityfile"})
_NOT_LOADED: Any = object()

# The ciphers offered, most preferred first, unless the host's ssh config says ``Ciphers``.
# asyncssh's first choice, chacha20-poly1305, is built per packet from six cipher contexts in
# Python; AES-GCM is one call into OpenSSL (AES-NI). Measured at 1,000 hosts (docs/fleet.md):
# the fan-out's client CPU fell by about a third, the handshakes' by a tenth. Both are what
# OpenSSH offers by default; a server without AES-GCM gets the rest of asyncssh's list.
PREFERRED_CIPHERS: tuple[str, ...] = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
CIPHERS: tuple[str, ...] = (*PREFERRED_CIPHERS, *(
    name for name in (alg.decode("ascii") for alg in get_default_encryption_algs())
    if name not in PREFERRED_CIPHERS))


class SshSetupError(Exception):
    """The ``[ssh]`` settings cannot be used (missing config or key file, unreadable known_hosts)."""


@dataclass(frozen=True)
class ConnectSettings:
    config: tuple[str, ...]
    slicer: ConfigSlicer | None
    known_hosts_path: Path
    known_hosts: asyncssh.SSHKnownHosts
    client_keys: tuple[asyncssh.SSHKeyPair, ...]
    user: str | None
    port: int
    connect_timeout: float
    keepalive: float
    keepalive_count_max: int
    sign_first: bool = True
    host_vars: Mapping[str, HostAddress] = field(default_factory=dict)
    _parsed: dict[str, SSHConfig] = field(default_factory=dict, compare=False, repr=False)
    _keys: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # path -> keypairs | None
    fast: bool = True   # resolve simple config slices here (tests turn it off to compare)

    @contextlib.contextmanager
    def kwargs(self, host: str) -> Iterator[dict[str, Any]]:
        """Keyword arguments for ``asyncssh.connect(host, ...)``, valid inside the ``with``.

        ``config`` goes to ``connect()`` itself (options built beforehand do not match
        ``Host`` blocks); it is the host's slice of the file (see ``sshconfig``), which
        exists only while connecting. A ``Port`` in the config wins over the profile's.
        An inventory host (``host_vars``) is connected to at its address (``Host`` blocks
        match the address, as with Ansible's ``ssh``), its port and user winning over both.
        """
        vars_ = self.host_vars.get(host)
        host = self.address(host)
        simple = self._simple(host) if self.fast else None
        kw: dict[str, Any] = {
            "known_hosts": self.known_hosts,
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": self.keepalive,
            "keepalive_count_max": self.keepalive_count_max,
        }
        if self.client_keys:
            kw["client_keys"] = list(self.client_keys)
        if self.user:
            kw["username"] = self.user
        if simple is not None:
            kw.update(simple)
            kw["encryption_algs"] = list(CIPHERS)   # a simple slice holds no Ciphers line
            if vars_ is not None and vars_.port is not None:
                kw["port"] = vars_.port
            if vars_ is not None and vars_.user is not None:
                kw["username"] = vars_.user
            yield kw
            return
        with self._config_for(host) as paths:
            if paths:
                kw["config"] = paths
            # a Port in the config wins; 22 is asyncssh's own default (no need to look the config up)
            if self.port != DEFAULT_SSH_PORT and self._host_option(host, "Port", paths) is None:
                kw["port"] = self.port
            if self._host_option(host, "Ciphers", paths) is None:
                kw["encryption_algs"] = list(CIPHERS)
            if vars_ is not None and vars_.port is not None:
                kw["port"] = vars_.port
            if vars_ is not None and vars_.user is not None:
                kw["username"] = vars_.user
            yield kw

    def _simple(self, host: str) -> dict[str, Any] | None:
        """asyncssh's arguments for ``host`` when its config slice only says where and as whom to connect.

        Handing asyncssh a config file makes every connect parse it and load the
        ``IdentityFile`` keys from disk again, in a thread: about 3.5 ms of CPU per host
        against 0.3 ms with everything given resolved (1,000 hosts: 3.5 s of a 2-core
        machine that also runs the handshakes). A slice holding only ``Host``, ``HostName``,
        ``Port``, ``User`` and ``IdentityFile`` lines, without ``%`` tokens or quotes, is
        resolved here the way ssh does (the first value wins, IdentityFiles add up) with
        the keys loaded once per file; anything else goes to asyncssh as a file, as before.
        Returns ``config=None`` (no file), ``host`` (the address to connect to), and
        ``port``/``username``/``client_keys`` as the slice and the profile say (the
        profile's ``user`` and ``client_keys`` win over the config's, as for a file).
        """
        if self.slicer is not None:
            text = self.slicer.text_for(host)
            if text is None:
                return None
        elif self.config:
            return None   # a config the slicer does not cut (Include, CanonicalizeHostname): as a file
        else:
            text = ""     # no config file at all: nothing to read per connect
        values: dict[str, str] = {}
        identity: list[str] = []
        for line in text.splitlines():
            key, rest = keyword_of(line)
            if not key:
                if line.strip() and not line.lstrip().startswith("#"):
                    return None
                continue
            if key not in SIMPLE_KEYWORDS or "%" in rest or '"' in rest or "'" in rest:
                return None
            if key == "identityfile":
                identity.append(rest)
            elif key != "host":
                values.setdefault(key, rest)
        out: dict[str, Any] = {"config": None, "host": values.get("hostname", host)}
        if "port" in values:
            if not values["port"].isdigit():
                return None
            out["port"] = int(values["port"])
        elif self.port != DEFAULT_SSH_PORT:
            out["port"] = self.port
        if "user" in values and not self.user:
            out["username"] = values["user"]
        if not self.client_keys:
            keys = self._load_keys(tuple(identity))
            if keys is None:
                return None
            out["client_keys"] = keys
        return out

    def _load_keys(self, paths: tuple[str, ...]) -> list[asyncssh.SSHKeyPair] | None:
        """The IdentityFile keys (none: the default ones), loaded once each; None when one cannot be
        (asyncssh is then handed the config file, and says what is wrong)."""
        keys: list[asyncssh.SSHKeyPair] = []
        for name in paths or ("",):
            got = self._keys.get(name, _NOT_LOADED)
            if got is _NOT_LOADED:
                got = self._keys[name] = _read_keys(name)
            if got is None:
                return None
            keys.extend(got)
        return keys

    def address(self, host: str) -> str:
        """The name or address to connect to: an inventory host's ``ansible_host``, else the name itself."""
        vars_ = self.host_vars.get(host)
        return vars_.address if vars_ is not None and vars_.address else host

    def proxy_jump(self, host: str) -> str | None:
        """The config's ``ProxyJump`` for ``host`` (``None`` when unset or ``none``)."""
        host = self.address(host)
        if self.slicer is not None:
            text = self.slicer.text_for(host)
            if text is not None and "proxyjump" not in text.lower():
                return None   # asked on every connect: no slice file written to learn nothing
        with self._config_for(host) as paths:
            jump = self._host_option(host, "ProxyJump", paths)
        return str(jump) if jump and str(jump).lower() != "none" else None

    def _host_option(self, host: str, option: str, paths: list[str]) -> object:
        if not paths:
            return None
        if self.slicer is not None:
            text = self.slicer.text_for(host)
            if text is not None and option.lower() not in text.lower():
                return None  # not in the host's slice: no need to parse it (a parse per host adds up at 1,000)
        cfg = self._parsed.get(host)
        if cfg is None:
            cfg = self._parsed[host] = _parse(paths, host)
        return cfg.get(option)

    @contextlib.contextmanager
    def _config_for(self, host: str) -> Iterator[list[str]]:
        if self.slicer is None:
            yield list(self.config)
            return
        with self.slicer.path_for(host) as path:
            yield [path]


def _read_keys(name: str) -> tuple[asyncssh.SSHKeyPair, ...] | None:
    """As asyncssh reads a config's IdentityFile (encrypted keys skipped); ``""``: the default keys."""
    try:
        if not name:
            return tuple(load_default_keypairs())
        path = Path(name).expanduser()
        if not path.is_absolute() or not path.is_file():
            return None
        return tuple(asyncssh.load_keypairs([str(path)], ignore_encrypted=True))
    except (OSError, ValueError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError):
        return None


def _parse(paths: list[str], host: str) -> SSHConfig:
    return SSHClientConfig.load(None, paths, False, False, False, getpass.getuser(), (), host, ())


def _config_paths(ssh: SshSettings) -> tuple[str, ...]:
    if ssh.config:
        path = Path(ssh.config).expanduser()
        if not path.is_file():
            raise SshSetupError(f"ssh config {ssh.config} not found (looked for {path})")
        return (str(path),)
    default = Path("~/.ssh/config").expanduser()
    return (str(default),) if default.is_file() else ()


def _slicer(paths: tuple[str, ...]) -> ConfigSlicer | None:
    """Check the config parses (errors name the real file and line), then slice it per host."""
    if not paths:
        return None
    try:
        _parse(list(paths), "*")
        return ConfigSlicer(Path(paths[0]))
    except asyncssh.ConfigParseError as exc:
        raise SshSetupError(f"bad ssh config: {exc}") from None
    except OSError as exc:
        raise SshSetupError(f"ssh config {paths[0]} cannot be read: {exc}") from None


def _client_keys(ssh: SshSettings) -> tuple[asyncssh.SSHKeyPair, ...]:
    keys: list[asyncssh.SSHKeyPair] = []
    for name in ssh.client_keys:
        path = Path(name).expanduser()
        try:
            keys.extend(asyncssh.load_keypairs([str(path)]))
        except FileNotFoundError:
            raise SshSetupError(f"client key {name} not found (looked for {path})") from None
        except (OSError, asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            raise SshSetupError(f"client key {name} cannot be loaded: {exc}") from None
    return tuple(keys)


_USER_VARS = ("LOGNAME", "USER", "LNAME", "USERNAME")


def pin_local_identity() -> None:
    """Look the local user name and home up once, into the environment where they are read first.

    ``getpass.getuser()`` (called by asyncssh on every connect) and ``~`` expansion read
    ``LOGNAME``/``USER`` and ``HOME``, and only without them the password database. That
    read needs a free file descriptor: under descriptor pressure it failed as
    ``KeyError: 'getpwuid(): uid not found'`` for random hosts (cron, systemd units and
    ``env -i`` give no ``USER``). Looked up here, at load, it either works once or says so.
    """
    if any(os.environ.get(name) for name in _USER_VARS) and os.environ.get("HOME"):
        return
    try:
        entry = pwd.getpwuid(os.getuid())
    except KeyError:
        raise SshSetupError(
            f"cannot tell the local user name (uid {os.getuid()} is not in the password database): "
            "set USER and HOME"
        ) from None
    if not any(os.environ.get(name) for name in _USER_VARS):
        os.environ["LOGNAME"] = entry.pw_name
    os.environ.setdefault("HOME", entry.pw_dir)


def load_settings(ssh: SshSettings, host_vars: Mapping[str, HostAddress] | None = None) -> ConnectSettings:
    """Read the config, known_hosts and key files named by ``[ssh]`` (raises :class:`SshSetupError`)."""
    pin_local_identity()
    known_path = Path(ssh.known_hosts).expanduser()
    try:
        known = load_known_hosts(known_path)
    except (OSError, ValueError) as exc:
        raise SshSetupError(f"known_hosts {known_path} cannot be read: {exc}") from None
    config = _config_paths(ssh)
    return ConnectSettings(
        config=config,
        slicer=_slicer(config),
        known_hosts_path=known_path,
        known_hosts=known,
        client_keys=_client_keys(ssh),
        user=ssh.user,
        port=ssh.port,
        connect_timeout=ssh.connect_timeout,
        keepalive=ssh.keepalive,
        keepalive_count_max=ssh.keepalive_count_max,
        sign_first=ssh.sign_first,
        host_vars=dict(host_vars or {}),
    )
