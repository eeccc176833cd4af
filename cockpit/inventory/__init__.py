"""Host groups from the inventories a team already has: an Ansible inventory, the ssh config.

``load_inventory(spec, base_dir, ssh)`` is called by the profile loader; its groups join
``[hosts]`` and are validated like them. Each source is one module: :mod:`.ansible`
(through ``ansible-inventory --list``, Ansible's supported interface), :mod:`.sshconfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cockpit.profile.model import HostAddress, InventorySpec, SshSettings

KeyPath = tuple[str | int, ...]


@dataclass
class Inventory:
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    host_vars: dict[str, HostAddress] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # group -> where it came from
    problems: list[tuple[KeyPath, str]] = field(default_factory=list)  # (key under [inventory], message)
    cache: dict[str, str] = field(default_factory=dict)  # source -> how it was read (cached or not, why)


def load_inventory(spec: InventorySpec, base_dir: Path | None, ssh: SshSettings | None) -> Inventory:
    """Every group the spec names, with problems instead of exceptions."""
    from cockpit.inventory.ansible import load_ansible
    from cockpit.inventory.sshconfig import load_ssh_config_groups

    inv = Inventory()
    if spec.ansible:
        load_ansible(spec, base_dir, inv)
    if spec.ssh_config:
        load_ssh_config_groups(spec.ssh_config, ssh, inv)
    return inv


def add_group(inv: Inventory, name: str, hosts: tuple[str, ...], source: str, at: KeyPath) -> None:
    if name in inv.groups:
        inv.problems.append((at, f'group "{name}" comes from both {inv.sources[name]} and {source}'))
        return
    inv.groups[name] = hosts
    inv.sources[name] = source
