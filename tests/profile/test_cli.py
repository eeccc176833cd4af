"""The real CLI (``python -m cockpit``) on real files: exit codes, output lines, no tracebacks, no secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.profile.cases import BASE, with_step

SECRET = "xoxb-SECRET-9f8e7d6c5b4a-hooks-value"
ENV_NAMES = ("PROM_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_USER", "SMTP_PASSWORD", "JIRA_USER", "JIRA_TOKEN",
             "GRAFANA_TOKEN")


def cockpit(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_academy_passes_with_only_env_warnings() -> None:
    proc = cockpit("check", "profiles/academy.toml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "profiles/academy.toml: ok (4 host groups, 6 signals, 4 checks, 19 steps)"
    warnings = lines[:-1]
    assert warnings, "unset secrets must be reported"
    assert all(": warning: " in w and "is not set" in w for w in warnings)
    assert any(w.startswith("profiles/academy.toml:") and "SLACK_WEBHOOK_URL" in w for w in warnings)


def test_academy_with_every_secret_set_is_clean_and_never_shows_them() -> None:
    env = {name: f"{SECRET}-{name}" for name in ENV_NAMES}
    proc = cockpit("check", "profiles/academy.toml", env=env)
    assert proc.returncode == 0
    assert proc.stdout == "profiles/academy.toml: ok (4 host groups, 6 signals, 4 checks, 19 steps)\n"
    assert SECRET not in proc.stdout + proc.stderr


def test_bundled_profile_by_name() -> None:
    proc = cockpit("check", "academy", env={n: "x" * 8 for n in ENV_NAMES})
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith("ok (4 host groups, 6 signals, 4 checks, 19 steps)")


def test_broken_profile_exit_2_with_file_line_messages(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('hosts = "web"', 'hosts = "wbe"').replace("[hosts]", "[hosts]\n"))
    proc = cockpit("check", "bad.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == 'bad.toml:32: step "pause": hosts: unknown host group "wbe" (did you mean "web"?)\n'
    assert "1 error" in proc.stderr


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        BASE.replace('environment = "drill"', 'environment = "drill"\nrto = "5m')
    )
    proc = cockpit("check", "p.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.startswith("p.toml:4: TOML syntax error: ")


def test_unset_env_var_is_a_warning_exit_0(tmp_path: Path) -> None:
    text = with_step(
        'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n\n'
        '[step.slack]\nwebhook = "${env:COCKPIT_TEST_HOOK}"\ntext = "hi"\n'
    )
    (tmp_path / "p.toml").write_text(text)
    proc = cockpit("check", "p.toml", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        'p.toml:41: warning: step "b": slack.webhook: environment variable COCKPIT_TEST_HOOK is not set '
        "(referenced as ${env:COCKPIT_TEST_HOOK})",
        "p.toml: ok (3 host groups, 1 signal, 1 check, 2 steps)",
    ]
    proc = cockpit("check", "p.toml", cwd=tmp_path, env={"COCKPIT_TEST_HOOK": SECRET})
    assert proc.returncode == 0
    assert proc.stdout == "p.toml: ok (3 host groups, 1 signal, 1 check, 2 steps)\n"
    assert SECRET not in proc.stdout + proc.stderr


def test_literal_secrets_are_never_printed(tmp_path: Path) -> None:
    text = with_step(
        'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "jira"\n\n'
        f'[step.jira]\nurl = "https://jira.example"\nissue = "CHG-1"\ntoken = "{SECRET}"\nbody = "x"\n'
        f'\n[[step]]\nid = "c"\ntitle = "C"\nphase = "communicate"\nkind = "slack"\n\n'
        f'[step.slack]\nwebhook = ["{SECRET}"]\ntext = "hi"\n'
    )
    (tmp_path / "p.toml").write_text(text)
    proc = cockpit("check", "p.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert SECRET not in proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        'p.toml:43: warning: step "b": jira.token: holds a literal secret: use ${env:NAME} so it stays out of the file',
        'p.toml:53: step "c": slack.webhook: expected a string, got (value hidden)',
    ]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    proc = cockpit("check", "nope.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope.toml: no such file" in proc.stderr
    assert "academy" in proc.stderr  # lists the bundled profiles
    proc = cockpit("check", str(tmp_path))
    assert proc.returncode == 2
    assert "not a file" in proc.stderr


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_bytes(b'[cockpit]\nname = "caf\xe9"\n')
    proc = cockpit("check", "p.toml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == "p.toml:2: not UTF-8 text (byte 0xe9)\n"


def test_profile_init_then_check(tmp_path: Path) -> None:
    proc = cockpit("profile", "init", "ops/rollback.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = (tmp_path / "ops/rollback.toml").read_text()
    assert written.startswith("# cockpit profile")
    proc = cockpit("check", "ops/rollback.toml", cwd=tmp_path, env={"PROM_TOKEN": SECRET})
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout == "ops/rollback.toml: ok (3 host groups, 2 signals, 2 checks, 3 steps)\n"


def test_profile_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "cockpit.toml"
    target.write_text("# mine\n")
    proc = cockpit("profile", "init", cwd=tmp_path)
    assert proc.returncode == 1
    assert "exists" in proc.stderr and "--force" in proc.stderr
    assert target.read_text() == "# mine\n"
    proc = cockpit("profile", "init", "--force", cwd=tmp_path)
    assert proc.returncode == 0
    assert "[cockpit]" in target.read_text()


def _bundled() -> list[str]:
    from cockpit.profile.locate import bundled_profiles

    return sorted(bundled_profiles())


@pytest.mark.parametrize("name", _bundled())
def test_every_bundled_profile_has_no_errors(name: str) -> None:
    from cockpit.profile.load import validate
    from cockpit.profile.locate import locate_profile

    profile, problems = validate(locate_profile(name), environ={n: "x" * 8 for n in ENV_NAMES})
    assert [p.format(name) for p in problems if p.severity == "error"] == []
    assert profile is not None
