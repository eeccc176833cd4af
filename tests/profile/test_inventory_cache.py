"""``ansible-inventory``'s answer is cached per user, keyed by the inventory files (size, mtime, sha256):
an unchanged inventory loads without starting Ansible; any change (the file, its group_vars) reads it again;
dynamic inventories (scripts) are never cached; a cache file others could write is ignored."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cockpit.inventory import cache
from cockpit.profile.load import load_profile
from cockpit.profile.model import HostAddress, Profile
from tests.profile.test_inventory import HEAD, INI, STEP, check_lines, write

SOURCE = "Ansible inventory hosts.ini"


def _profile(tmp_path: Path, inventory: str = "hosts.ini") -> Path:
    return write(tmp_path, HEAD + f'[inventory]\nansible = ["{inventory}"]\n' + STEP.format(group="app"))


def _how(profile: Profile, source: str = SOURCE) -> str:
    return profile.inventory_cache[source]


def test_an_unchanged_inventory_comes_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INI)
    path = _profile(tmp_path)
    t0 = time.monotonic()
    first = load_profile(path)
    ran = time.monotonic() - t0
    assert _how(first).startswith("read by ansible-inventory in ") and _how(first).endswith("cached for the next load")
    t0 = time.monotonic()
    second = load_profile(path)
    cached = time.monotonic() - t0
    assert _how(second).startswith("from the cache (ansible-inventory ran at "), _how(second)
    assert dict(second.hosts) == dict(first.hosts) and dict(second.host_vars) == dict(first.host_vars)
    print(f"profile load: {ran:.3f} s running ansible-inventory, {cached:.3f} s from the cache")
    # and `cockpit check` says so
    code, lines = check_lines(path)
    assert code == 0, lines
    assert any(line.startswith(f"  {SOURCE}: from the cache (") for line in lines), lines


def test_a_changed_inventory_is_read_again(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(INI)
    path = _profile(tmp_path)
    load_profile(path)
    assert _how(load_profile(path)).startswith("from the cache")
    # same size, other bytes, mtime kept: the hash tells
    st = inventory.stat()
    inventory.write_text(INI.replace("worker-[1:3]", "worker-[1:4]"))
    os.utime(inventory, ns=(st.st_atime_ns, st.st_mtime_ns))
    changed = load_profile(path)
    assert _how(changed).startswith("read by ansible-inventory"), _how(changed)
    assert "worker-4" in changed.hosts["workers"]
    assert _how(load_profile(path)).startswith("from the cache")
    # only the mtime moves: read again (the key holds it too)
    os.utime(inventory, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _how(load_profile(path)).startswith("read by ansible-inventory")
    # group_vars beside the inventory change a host's user: read again
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "canary.yml").write_text("ansible_user: canary\n")
    with_vars = load_profile(path)
    assert _how(with_vars).startswith("read by ansible-inventory")
    assert with_vars.host_vars["web-1"] == HostAddress("10.0.0.1", 2222, "canary")


def test_a_dynamic_inventory_script_is_never_cached(tmp_path: Path) -> None:
    script = tmp_path / "inventory.py"
    script.write_text("#!/usr/bin/env python3\nimport json\n"
                      "print(json.dumps({'app': {'hosts': ['dyn-1', 'dyn-2']}, '_meta': {'hostvars': {}}}))\n")
    script.chmod(0o755)
    path = _profile(tmp_path, "inventory.py")
    for _ in range(2):
        profile = load_profile(path)
        assert profile.hosts["app"] == ("dyn-1", "dyn-2")
        how = _how(profile, "Ansible inventory inventory.py")
        assert how.startswith("read by ansible-inventory") and "not cached: " in how and "executable" in how, how
    assert not list(cache.cache_dir().glob("*.json"))


def test_a_cache_file_others_can_write_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INI)
    path = _profile(tmp_path)
    load_profile(path)
    [entry] = list(cache.cache_dir().glob("*.json"))
    planted = json.loads(entry.read_text())
    planted["data"]["web"]["hosts"] = ["attacker"]
    entry.write_text(json.dumps(planted))
    entry.chmod(0o666)
    profile = load_profile(path)
    assert _how(profile).startswith("read by ansible-inventory"), _how(profile)
    assert profile.hosts["web"] == ("web-1", "web-2")
