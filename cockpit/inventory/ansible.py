"""Groups from an Ansible inventory, through ``ansible-inventory --list`` (its JSON is the supported interface).

Its answer is cached per user (:mod:`cockpit.inventory.cache`), keyed by the inventory
files' size, mtime and hash: an unchanged inventory loads without starting Ansible.

Every inventory plugin Ansible has (INI, YAML, directories, scripts, constructed...)
works the same way, and children groups, ranges (``web-[1:3]``) and group vars are
resolved by Ansible itself. A group's hosts are its own and its children's, in
inventory order, each once. ``ansible_host``/``ansible_port``/``ansible_user`` (and
the older ``ansible_ssh_*`` names) become the host's address, port and user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cockpit.inventory import Inventory, add_group, cache
from cockpit.profile.model import HostAddress, InventorySpec

TIMEOUT = 60.0
MAX_OUTPUT = 64 * 1024 * 1024
INSTALL_HINT = "install it with: pip install 'cockpit[ansible]'"
_HIDDEN = ("all", "ungrouped")


def ansible_tool(name: str) -> str | None:
    """An Ansible command next to this Python (the same venv) first, else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which(name)


def _run(tool: str, sources: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    args = [tool, "--list"]
    for source in sources:
        args += ["-i", source]
    env = {
        **os.environ,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
    }
    try:
        proc = subprocess.run(args, capture_output=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired:
        return None, f"ansible-inventory did not answer within {TIMEOUT:g}s"
    except OSError as exc:
        return None, f"cannot run ansible-inventory: {exc.strerror or exc}"
    if proc.returncode != 0:
        text = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        why = next((line for line in reversed(text) if "ERROR" in line), text[-1] if text else "")
        return None, f"ansible-inventory failed (exit {proc.returncode}): {why.strip()[:300]}"
    if len(proc.stdout) > MAX_OUTPUT:
        return None, f"ansible-inventory answered more than {MAX_OUTPUT // 2**20} MiB"
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        return None, f"ansible-inventory did not answer JSON: {exc}"
    return (data, None) if isinstance(data, dict) else (None, "ansible-inventory did not answer a JSON object")


def flatten(data: Mapping[str, Any], group: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The group's hosts and its children's, in order (a cycle is cut)."""
    entry = data.get(group)
    if not isinstance(entry, dict) or group in seen:
        return []
    hosts = [h for h in entry.get("hosts", ()) if isinstance(h, str)]
    for child in entry.get("children", ()):
        if isinstance(child, str):
            hosts += flatten(data, child, seen | {group})
    return list(dict.fromkeys(hosts))


def _group_names(data: Mapping[str, Any]) -> list[str]:
    """Every group, in order: those with an entry, and those only named as a child (empty groups have no entry)."""
    names: list[str] = []
    for group, entry in data.items():
        if group == "_meta":
            continue
        names.append(group)
        if isinstance(entry, dict):
            names += [c for c in entry.get("children", ()) if isinstance(c, str)]
    return list(dict.fromkeys(names))


def _address(host: str, hostvars: Mapping[str, Any]) -> tuple[HostAddress | None, str | None]:
    def var(*names: str) -> Any:
        return next((hostvars[n] for n in names if hostvars.get(n) is not None), None)

    address, port, user = var("ansible_host", "ansible_ssh_host"), var("ansible_port", "ansible_ssh_port"), \
        var("ansible_user", "ansible_ssh_user")
    for name, value in (("ansible_host", address), ("ansible_user", user), ("ansible_port", port)):
        if isinstance(value, str) and "{{" in value:
            return None, f"host {host}: {name} is a template ({value!r}); cockpit needs a plain value"
    if port is not None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            return None, f"host {host}: ansible_port {port!r} is not a port number"
        if not 0 < port < 65536:
            return None, f"host {host}: ansible_port {port} is not a port number"
    if address is None and port is None and user is None:
        return None, None
    return HostAddress(None if address is None else str(address), port, None if user is None else str(user)), None


def load_ansible(spec: InventorySpec, base_dir: Path | None, inv: Inventory) -> None:
    sources: list[str] = []
    for i, name in enumerate(spec.ansible):
        path = Path(name).expanduser()
        if not path.is_absolute():
            if base_dir is None:
                inv.problems.append((("ansible", i), f"inventory {name}: a relative path needs the profile's file"))
                continue
            path = base_dir / path
        if not path.exists():
            inv.problems.append((("ansible", i), f"inventory {name} not found (looked for {path})"))
            continue
        sources.append(str(path))
    if len(sources) != len(spec.ansible):
        return
    tool = ansible_tool("ansible-inventory")
    if tool is None:
        inv.problems.append((("ansible",), f"reading an Ansible inventory needs ansible-inventory: {INSTALL_HINT}"))
        return
    where = "Ansible inventory " + ", ".join(spec.ansible)
    fp = cache.fingerprint(sources, tool)
    hit = cache.load(sources, tool, fp)
    if hit is not None:
        data, made = hit
        inv.cache[where] = (f"from the cache (ansible-inventory ran at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(made))}; "
                            "the inventory files are unchanged since)")
    else:
        t0 = time.monotonic()
        answer, error = _run(tool, sources)
        if answer is None:
            inv.problems.append((("ansible",), error or "ansible-inventory failed"))
            return
        data = answer
        took = f"read by ansible-inventory in {time.monotonic() - t0:.2f} s"
        why_not = cache.store(sources, tool, fp, data)
        inv.cache[where] = f"{took}; not cached: {why_not}" if why_not else f"{took}; cached for the next load"
    hostvars = data.get("_meta", {}).get("hostvars", {}) if isinstance(data.get("_meta"), dict) else {}
    known = _group_names(data)
    wanted = list(spec.groups) or [g for g in known if g not in _HIDDEN]
    for i, group in enumerate(wanted):
        if group not in known:
            inv.problems.append((("groups", i) if spec.groups else ("ansible",),
                                 f'group "{group}" is not in the inventory (it has: {", ".join(known)})'))
            continue
        hosts = tuple(flatten(data, group))
        add_group(inv, group, hosts, where, ("groups", i) if spec.groups else ("ansible",))
        for host in hosts:
            address, problem = _address(host, hostvars.get(host) or {})
            if problem:
                inv.problems.append((("ansible",), problem))
            elif address is not None:
                inv.host_vars[host] = address
