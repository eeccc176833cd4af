"""Validation gaps closed, through the real CLI against a real sshd: an out-of-range port or an
empty known_hosts never reaches the SSH client; an empty environment cannot be confirmed by an empty
``--confirm ""`` (refused by `cockpit check`, and by the guard whatever profile reaches it); relative
``[ssh]`` paths are the profile's, not the cwd's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cockpit.guard import Guard
from cockpit.session import Session
from tests.engine.conftest import cockpit, profile_text


class _Lock:
    held = True


@pytest.mark.parametrize("environment", ["", " ", "drill"])
@pytest.mark.parametrize("typed", ["", " "])
def test_the_guard_refuses_an_empty_confirmation(make_profile, environment: str, typed: str) -> None:
    profile = make_profile()
    done = Session.from_entries([{"type": "step_start", "ts": 1, "step": "touch"},
                                 {"type": "step_end", "ts": 2, "step": "touch", "state": "ok"}])
    destroy = profile.step("destroy")
    for step in (destroy, replace(destroy, confirm="yes"), replace(destroy, confirm="none")):
        d = Guard(environment).decide(step, session=done, read_only=False, lock=_Lock(), confirmation=typed,
                                      yes=True, override=False)
        assert not d.allowed and "empty confirmation" in d.reason, (step.confirm, d)


def test_an_empty_environment_profile_never_runs(sshd, tmp_path: Path, marker_dir: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=sshd, marker_dir=marker_dir, environment=""))
    r = cockpit("check", str(path))
    assert r.returncode == 2 and "cockpit.environment: must not be empty" in r.stdout, (r.stdout, r.stderr)
    for step in ("touch", "destroy"):
        r = cockpit("run", step, "--profile", str(path), "--confirm", "", "--override")
        assert r.returncode == 2 and "cockpit.environment: must not be empty" in r.stderr, r.stderr
    assert list(marker_dir.iterdir()) == []


def test_an_empty_confirm_is_refused_on_a_real_host(sshd, tmp_path: Path, marker_dir: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(profile_text(ssh=sshd, marker_dir=marker_dir))
    r = cockpit("run", "destroy", "--profile", str(path), "--confirm", "", "--override")
    assert r.returncode == 3 and "empty confirmation" in r.stderr, r.stderr
    assert list(marker_dir.iterdir()) == []


def test_relative_ssh_paths_are_the_profiles_not_the_cwds(sshd, tmp_path: Path, marker_dir: Path) -> None:
    """``[ssh]`` config, known_hosts and client_keys written relative to the profile work from another cwd."""
    import shutil

    d = tmp_path / "bastion"
    (d / "keys").mkdir(parents=True)
    shutil.copy(sshd.ssh_config, d / "ssh_config")
    shutil.copy(sshd.known_hosts, d / "known_hosts")
    shutil.copy(sshd.client_key, d / "keys" / "id")
    (d / "keys" / "id").chmod(0o600)
    text = profile_text(ssh=sshd, marker_dir=marker_dir)
    text = (text.replace(f'config = "{sshd.ssh_config}"', 'config = "ssh_config"')
                .replace(f'known_hosts = "{sshd.known_hosts}"', 'known_hosts = "known_hosts"')
                .replace(f'client_keys = ["{sshd.client_key}"]', 'client_keys = ["keys/id"]'))
    assert 'config = "ssh_config"' in text and 'client_keys = ["keys/id"]' in text
    (d / "p.toml").write_text(text)
    r = cockpit("run", "touch", "--profile", str(d / "p.toml"), "--yes")   # cwd: the repository
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert sorted(p.name for p in marker_dir.iterdir()) == ["touched-127.0.1.1", "touched-127.0.1.2"]


@pytest.mark.parametrize(("line", "message"), [
    ("port = 70000", "ssh.port: 70000 is out of range: must be 1 to 65535"),
    ("port = -1", "ssh.port: -1 is out of range"),
    ('known_hosts = ""', "ssh.known_hosts: must not be empty"),
    ('known_hosts = "."', "is a directory"),
], ids=["port-70000", "port-negative", "known-hosts-empty", "known-hosts-dir"])
def test_bad_ssh_settings_never_reach_the_client(sshd, tmp_path: Path, marker_dir: Path, line: str,
                                                 message: str) -> None:
    text = profile_text(ssh=sshd, marker_dir=marker_dir)
    key = line.split(" =", maxsplit=1)[0]
    text = "\n".join(row for row in text.splitlines() if not row.startswith(f"{key} ="))
    path = tmp_path / "p.toml"
    path.write_text(text.replace("[ssh]\n", f"[ssh]\n{line}\n"))
    r = cockpit("run", "touch", "--profile", str(path), "--yes")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    assert "nothing started" in r.stderr
    assert list(marker_dir.iterdir()) == []
