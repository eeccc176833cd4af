"""Groups from the operator's ssh config: the concrete ``Host`` aliases that patterns match.

``[inventory] ssh_config = { web = "web-* !web-canary" }`` makes group ``web`` of every
alias written on a ``Host`` line (of the file ``[ssh] config`` names, default
``~/.ssh/config``, and every file it ``Include``s) that the patterns match, using
OpenSSH's pattern rules (asyncssh's matcher). Wildcard ``Host`` entries are patterns,
not hosts, and are never listed. Connecting to those hosts goes through the same config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from asyncssh.pattern import WildcardPatternList

from cockpit.inventory import Inventory, add_group
from cockpit.profile.model import SshSettings
from cockpit.ssh.sshconfig import ConfigError, config_hosts


def config_path(ssh: SshSettings | None) -> Path:
    name = ssh.config if ssh is not None and ssh.config else "~/.ssh/config"
    return Path(name).expanduser()


def load_ssh_config_groups(groups: Mapping[str, str], ssh: SshSettings | None, inv: Inventory) -> None:
    path = config_path(ssh)
    try:
        aliases = config_hosts(path)
    except ConfigError as exc:
        inv.problems.append((("ssh_config",), str(exc)))
        return
    for name, patterns in groups.items():
        words = patterns.replace(",", " ").split()
        if not words:
            inv.problems.append((("ssh_config", name), f'group "{name}": no Host pattern given'))
            continue
        matcher = WildcardPatternList(",".join(words))
        hosts = tuple(h for h in aliases if matcher.matches(h))
        add_group(inv, name, hosts, f"ssh config {path} ({' '.join(words)})", ("ssh_config", name))
