"""Every number in range, every duration sane, every string that must say something non-empty, every
path relative to the profile: `cockpit check` refuses what would fail (or mislead) at run time.

Each case changes BASE (tests/profile/cases.py) and expects exactly one error naming the key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.profile.load import parse_profile, validate
from tests.profile.cases import BASE, with_step

STEP = 'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\n'
SSH = "\n[ssh]\n"


def ssh(line: str) -> str:
    return BASE + SSH + line + "\n"


def step(extra: str) -> str:
    return with_step(STEP + extra + "\n")


def signal_line(line: str) -> str:
    return BASE.replace('query = "up"', f'query = "up"\n{line}')


EMAIL = ('id = "mail"\ntitle = "M"\nphase = "communicate"\nkind = "email"\n'
         '[step.email]\ntemplate = "t.md"\nto = ["a@b.c"]\nfrom = "c@d.e"\n')
JIRA = ('id = "j"\ntitle = "J"\nphase = "communicate"\nkind = "jira"\n'
        '[step.jira]\nurl = "https://jira"\nissue = "CHG-1"\ntoken = "${env:T}"\nbody = "x"\n')

CASES = [
    # numbers: ranges (a port that overflows at connect time, exit statuses, counts)
    ("port-high", ssh("port = 70000"), "ssh.port: 70000 is out of range: must be 1 to 65535"),
    ("port-negative", ssh("port = -1"), "ssh.port: -1 is out of range: must be 1 to 65535"),
    ("port-zero", ssh("port = 0"), "ssh.port: 0 is out of range"),
    ("keepalive-count-zero", ssh("keepalive_count_max = 0"), "ssh.keepalive_count_max: 0 is out of range"),
    ("smtp-port", with_step(EMAIL + "smtp_port = 99999\n"), 'step "mail": email.smtp_port: 99999 is out of range'),
    ("jira-api", with_step(JIRA + "api = 4\n"), 'step "j": jira.api: 4 is out of range: must be 2 to 3'),
    ("exit-status-256", step('verify = { command = "y", exit_status = 256 }'),
     'step "b": verify.exit_status: 256 is out of range: must be 0 to 255'),
    ("exit-status-negative", step('verify = { command = "y", exit_status = -1 }'), "verify.exit_status: -1 is out"),
    ("history-zero", signal_line("history = 0"), 'signal "queues": history: 0 is out of range'),
    ("history-huge", signal_line("history = 1000000000"), 'signal "queues": history: 1000000000 is out of range'),
    ("consecutive-zero", BASE.replace('condition = "< 100"', 'condition = "< 100"\nconsecutive = 0'),
     'check "queues": consecutive: 0 is out of range'),
    ("concurrency-negative", step("concurrency = -1"), 'step "b": concurrency: -1 is out of range: must be at least 0'),
    ("workers-negative", signal_line("expected_workers = { feed = -2 }"),
     'signal "queues": expected_workers.feed: -2 is out of range: must be at least 0'),
    ("scale-nan", signal_line("scale = nan"), 'signal "queues": scale: nan is not a finite number'),
    ("scale-inf", signal_line("scale = inf"), 'signal "queues": scale: inf is not a finite number'),
    ("scale-zero", signal_line("scale = 0"), 'signal "queues": scale: 0.0 is out of range: must be greater than 0'),
    # durations: zero, negative, absurdly long, too short to poll
    ("duration-zero", step('timeout = "0s"'), "step \"b\": timeout: duration '0s' must be greater than zero"),
    ("duration-negative", step('timeout = "-5s"'), 'step "b": timeout: bad duration'),
    ("duration-huge", step('timeout = "100000000h"'), 'step "b": timeout: 100000000h is too long: at most 168h'),
    ("duration-digits", BASE.replace('environment = "drill"', 'environment = "drill"\nrto = "' + "9" * 400 + 's"'),
     "cockpit.rto: "),
    ("refresh-tiny", BASE.replace('environment = "drill"', 'environment = "drill"\nrefresh = "1ms"'),
     "cockpit.refresh: 1ms is too short: at least 100ms"),
    ("interval-tiny", BASE.replace('url = "http://127.0.0.1:9090"', 'url = "http://127.0.0.1:9090"\ninterval = "10ms"'),
     "sources.prom.interval: 10ms is too short: at least 100ms"),
    ("keepalive-tiny", ssh('keepalive = "10ms"'), "ssh.keepalive: 10ms is too short: at least 1s"),
    # strings that must say something
    ("environment-empty", BASE.replace('environment = "drill"', 'environment = ""'),
     "cockpit.environment: must not be empty"),
    ("environment-blank", BASE.replace('environment = "drill"', 'environment = "  "'),
     "cockpit.environment: must not be empty"),
    ("environment-padded", BASE.replace('environment = "drill"', 'environment = " drill"'),
     "cockpit.environment: must not start or end with a space"),
    ("name-empty", BASE.replace('name = "t"', 'name = ""'), "cockpit.name: must not be empty"),
    ("known-hosts-empty", ssh('known_hosts = ""'), "ssh.known_hosts: must not be empty"),
    ("config-empty", ssh('config = ""'), "ssh.config: must not be empty"),
    ("client-key-empty", ssh('client_keys = [""]'), "ssh.client_keys[0]: must not be empty"),
    ("user-empty", ssh('user = ""'), "ssh.user: must not be empty"),
    ("step-id-empty", with_step('id = ""\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\n'),
     "id: must not be empty"),
    ("step-title-blank", with_step('id = "b"\ntitle = " "\nphase = "rollback"\nhosts = "web"\ncommand = "x"\n'),
     'step "b": title: must not be empty'),
    ("preview-empty", step('preview = ""'), 'step "b": preview: must not be empty'),
    ("verify-command-empty", step('verify = { command = "" }'), 'step "b": verify.command: must not be empty'),
    ("after-empty", step('after = [""]'), 'step "b": after[0]: must not be empty'),
    ("recipient-empty", with_step(EMAIL.replace('to = ["a@b.c"]', 'to = [""]')), 'step "mail": email.to[0]: must not be empty'),
    ("condition-infinite", BASE.replace('condition = "< 100"', 'condition = "< 1e400"'),
     "check \"queues\": condition: '< 1e400': the threshold is not a finite number"),
    ("app-key-empty", BASE.replace('environment = "drill"', 'environment = "drill"\nkeys = { quit = "" }'),
     "cockpit.keys.quit: must not be empty"),
    ("group-name-empty", BASE.replace("[hosts]\n", '[hosts]\n"" = ["h1"]\n'), 'hosts: an empty name'),
    ("source-name-empty", BASE + '\n[sources." "]\nkind = "http"\nurl = "http://127.0.0.1:1/"\n',
     "sources: an empty name"),
    ("var-name-empty", BASE.replace('[vars]\n', '[vars]\n"" = "x"\n'), "vars: an empty name"),
    ("client-key-single-empty", ssh('client_keys = " "'), "ssh.client_keys: must not be empty"),
    ("after-single-empty", step('after = ""'), 'step "b": after: must not be empty'),
    ("ca-bundle-empty", BASE.replace('url = "http://127.0.0.1:9090"', 'url = "http://127.0.0.1:9090"\nca_bundle = ""'),
     "sources.prom.ca_bundle: must not be empty"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_by_check(text: str, message: str) -> None:
    profile, problems = parse_profile(text.encode(), "/nonexistent-dir/p.toml", environ={"T": "x"})
    errors = [p.message for p in problems if p.severity == "error"]
    assert profile is None, problems
    assert any(message in e for e in errors), errors


def test_base_and_its_limits_load() -> None:
    """The edges are accepted: a valid BASE, port 65535, exit status 255, scale 100, 7 days, 100ms."""
    text = (BASE.replace('environment = "drill"', 'environment = "drill"\nrefresh = "100ms"\nrto = "168h"')
            .replace('query = "up"', 'query = "up"\nscale = 100.0\nhistory = 100000')
            + SSH + "port = 65535\nkeepalive = \"1s\"\n")
    text = text.replace("\n[ssh]", '\n[[step]]\n' + STEP + 'verify = { command = "y", exit_status = 255 }\n\n[ssh]')
    profile, problems = parse_profile(text.encode(), "/nonexistent-dir/p.toml", environ={})
    assert profile is not None, problems
    assert profile.ssh.port == 65535 and profile.cockpit.refresh == 0.1


def test_known_hosts_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(ssh('known_hosts = "."'))
    profile, problems = validate(tmp_path / "p.toml", environ={})
    assert profile is None
    assert any("ssh.known_hosts: " in p.message and "is a directory" in p.message for p in problems), problems


def test_relative_ssh_paths_are_relative_to_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "p.toml").write_text(ssh('known_hosts = "kh"\nconfig = "conf/ssh_config"\nclient_keys = ["keys/id", "~/abs"]')
                              .replace('url = "http://127.0.0.1:9090"', 'url = "http://127.0.0.1:9090"\nca_bundle = "ca.pem"'))
    monkeypatch.chdir(tmp_path)       # another directory: the profile's own must win
    profile, problems = validate(d / "p.toml", environ={})
    assert profile is not None, problems
    assert profile.ssh.known_hosts == str(d / "kh")
    assert profile.ssh.config == str(d / "conf" / "ssh_config")
    assert profile.ssh.client_keys == (str(d / "keys" / "id"), str(Path("~/abs").expanduser()))
    assert profile.sources["prom"].ca_bundle == str(d / "ca.pem")


def test_a_directory_path_keeps_its_slash(tmp_path: Path) -> None:
    """``outbox = "mail/"`` names a directory that may not exist yet: it stays one once resolved."""
    (tmp_path / "p.toml").write_text(with_step(EMAIL + 'outbox = "mail/"\n'))
    profile, problems = validate(tmp_path / "p.toml", environ={})
    assert profile is not None, problems
    assert profile.step("mail").email.outbox == f"{tmp_path}/mail/"   # type: ignore[union-attr]
