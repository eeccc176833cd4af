"""Host groups from an Ansible inventory (real ``ansible-inventory``) and from an ssh config, validated."""

from __future__ import annotations

from pathlib import Path

from cockpit.profile.load import validate
from cockpit.profile.model import HostAddress
from tests.profile.test_cli import cockpit

HEAD = '[cockpit]\nname = "inv"\nenvironment = "test"\n\n'
STEP = '\n[[step]]\nid = "s"\ntitle = "t"\nphase = "rollback"\nhosts = "{group}"\ncommand = "true"\n'

INI = """\
[web]
web-1 ansible_host=10.0.0.1 ansible_port=2222
web-2 ansible_host=10.0.0.2 ansible_user=deploy

[workers]
worker-[1:3]

[app:children]
web
workers

[app:vars]
ansible_user=app

[canary]
web-1
"""

YAML = """\
all:
  children:
    app:
      vars:
        ansible_user: app
      children:
        web:
          hosts:
            web-1: {ansible_host: 10.0.0.1, ansible_port: 2222}
            web-2: {ansible_host: 10.0.0.2, ansible_user: deploy}
        workers:
          hosts:
            worker-1:
            worker-2:
            worker-3:
    canary:
      hosts:
        web-1:
"""


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def check_lines(path: Path) -> tuple[int, list[str]]:
    proc = cockpit("check", str(path))
    return proc.returncode, (proc.stdout + proc.stderr).splitlines()


def expect_fleet(tmp_path: Path, inventory_name: str, text: str) -> None:
    (tmp_path / inventory_name).write_text(text)
    profile_path = write(tmp_path, HEAD + f'[inventory]\nansible = ["{inventory_name}"]\n' + STEP.format(group="app"))
    profile, problems = validate(profile_path)
    assert profile is not None, problems
    assert dict(profile.hosts) == {
        "app": ("web-1", "web-2", "worker-1", "worker-2", "worker-3"),  # children flattened, in order
        "web": ("web-1", "web-2"),
        "workers": ("worker-1", "worker-2", "worker-3"),
        "canary": ("web-1",),
    }
    assert profile.host_vars["web-1"] == HostAddress("10.0.0.1", 2222, "app")  # group var, host var
    assert profile.host_vars["web-2"] == HostAddress("10.0.0.2", None, "deploy")  # host var wins
    assert profile.host_vars["worker-2"] == HostAddress(None, None, "app")
    assert profile.host_sources["web"] == f"Ansible inventory {inventory_name}"
    code, lines = check_lines(profile_path)
    assert code == 0, lines
    counts = {"app": "5 hosts", "web": "2 hosts", "workers": "3 hosts", "canary": "1 host"}
    assert lines[:2] == [
        f"{profile_path}: ok (4 host groups, 0 signals, 0 checks, 1 step)",
        f"  from Ansible inventory {inventory_name}: " + ", ".join(f"{g} {counts[g]}" for g in profile.hosts),
    ]
    # validate() above ran ansible-inventory and cached its answer: check reads the cache
    assert profile.inventory_cache[f"Ansible inventory {inventory_name}"].endswith("cached for the next load")
    assert lines[2].startswith(f"  Ansible inventory {inventory_name}: from the cache (ansible-inventory ran at "), lines
    assert len(lines) == 3, lines


def test_ini_inventory_groups_children_and_host_vars(tmp_path: Path) -> None:
    expect_fleet(tmp_path, "hosts.ini", INI)


def test_yaml_inventory_groups_children_and_host_vars(tmp_path: Path) -> None:
    expect_fleet(tmp_path, "hosts.yml", YAML)


def test_inventory_groups_are_validated_like_any_other(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INI + "\n[empty]\n")
    text = (HEAD + '[inventory]\nansible = ["hosts.ini"]\ngroups = ["web", "empty", "nope"]\n\n'
            '[hosts]\nweb = ["x"]\n' + STEP.format(group="empty"))
    code, lines = check_lines(write(tmp_path, text))
    assert code == 2
    assert lines[0].startswith(f'{tmp_path}/p.toml:7: inventory.groups[2]: group "nope" is not in the inventory '
                               "(it has: all, ungrouped, "), lines
    assert f'{tmp_path}/p.toml:10: hosts.web: group "web" is also read from Ansible inventory hosts.ini: ' \
        "rename one" in lines, lines
    assert f'{tmp_path}/p.toml:16: warning: step "s": hosts: host group "empty" is empty: the step runs nowhere' \
        in lines, lines


def test_a_missing_or_broken_inventory_is_a_clear_error(tmp_path: Path) -> None:
    code, lines = check_lines(write(tmp_path, HEAD + '[inventory]\nansible = ["nope.ini"]\n'))
    assert code == 2 and lines[0] == (
        f"{tmp_path}/p.toml:6: inventory.ansible[0]: inventory nope.ini not found (looked for {tmp_path}/nope.ini)"
    ), lines
    (tmp_path / "bad.yml").write_text("all: [unclosed\n")
    code, lines = check_lines(write(tmp_path, HEAD + '[inventory]\nansible = ["bad.yml"]\n'))
    assert code == 2 and "inventory.ansible: ansible-inventory failed (exit 1)" in lines[0], lines
    (tmp_path / "tpl.ini").write_text("[web]\nweb-1 ansible_host='{{ lookup(\"env\", \"X\") }}'\n")
    code, lines = check_lines(write(tmp_path, HEAD + '[inventory]\nansible = ["tpl.ini"]\n'))
    assert code == 2 and "host web-1: ansible_host is a template" in lines[0], lines


def test_ssh_config_hosts_by_pattern_with_include(tmp_path: Path) -> None:
    extra = tmp_path / "conf.d"
    extra.mkdir()
    (extra / "workers.conf").write_text("Host worker-1 worker-2\n  HostName 10.0.1.1\nHost worker-*\n  User w\n")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Include {extra}/*.conf\n"
        "Host web-1 web-2 web-canary\n  User deploy\n"
        "Host bastion\n  HostName 10.0.0.254\n"
        "Host *.internal !secret.internal\n  ProxyJump bastion\n"
        "Match host db-*\n  User db\n"
    )
    text = (HEAD + f'[ssh]\nconfig = "{config}"\n\n'
            '[inventory]\nssh_config = { web = "web-* !web-canary", workers = "worker-*", all_hosts = "*" }\n'
            + STEP.format(group="web"))
    profile, problems = validate(write(tmp_path, text))
    assert profile is not None, problems
    assert dict(profile.hosts) == {
        "web": ("web-1", "web-2"),
        "workers": ("worker-1", "worker-2"),
        "all_hosts": ("worker-1", "worker-2", "web-1", "web-2", "web-canary", "bastion"),
    }
    code, lines = check_lines(write(tmp_path, text))
    assert code == 0, lines
    assert lines[1] == (f"  from ssh config {config} (web-* !web-canary): web 2 hosts"), lines

    config.write_text(f"Include {tmp_path}/loop.conf\n")
    (tmp_path / "loop.conf").write_text(f"Include {tmp_path}/loop.conf\n")
    code, lines = check_lines(write(tmp_path, text))
    assert code == 2 and "Include nested more than 16 deep" in lines[0], lines
