"""Broken profiles: each gives exactly these ``file:LINE: message`` lines (stable order, by line)."""

from __future__ import annotations

import pytest

from cockpit.profile.load import parse_profile
from tests.profile.cases import BASE, with_step

CASES = [
    pytest.param(
        BASE.replace('name = "t"', 'name = "t'),
        ["p.toml:2: TOML syntax error: Illegal character '\\n', column 10"],
        id="syntax",
    ),
    pytest.param(
        BASE.replace('name = "t"\n', 'name = "t"\nname = "u"\n'),
        ['p.toml:3: TOML syntax error: duplicate key "name": it is already set above'],
        id="dupkey",
    ),
    pytest.param(
        BASE + '\n[cockpit]\nrto = "5m"\n',
        ["p.toml:34: TOML syntax error: duplicate table [cockpit]: it is already defined above"],
        id="duptable",
    ),
    pytest.param(
        BASE.replace("[hosts]", "[hots]"),
        ['p.toml:5: unknown key "hots" (did you mean "hosts"?)'],
        id="unknown_top",
    ),
    pytest.param(
        BASE.replace('command = "{artisan}', 'comand = "{artisan}'),
        ['p.toml:32: step "pause": unknown key "comand" (did you mean "command"?)'],
        id="unknown_step_key",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\nverify = { command = "y", exit_code = 1 }\n'
        ),
        [
            'p.toml:40: step "b": verify: unknown key "exit_code" (expected one of: command, exit_status, output)'
        ],
        id="unknown_verify_key",
    ),
    pytest.param(
        BASE.replace('condition = "< 100"', 'condition = "< 100"\nconsecutive = "2"'),
        ['p.toml:25: check "queues": consecutive: expected an integer, got "2"'],
        id="wrong_type",
    ),
    pytest.param(
        BASE.replace('environment = "drill"', 'environment = "drill"\nrto = 900'),
        ['p.toml:4: cockpit.rto: expected a duration string like "30s" or "15m", got 900'],
        id="duration_number",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\ntimeout = "5 min"\n'
        ),
        [
            'p.toml:40: step "b": timeout: bad duration \'5 min\': use a number and a unit (ms, s, m, h), e.g. "30s", "15m", "1h30m"'
        ],
        id="bad_duration",
    ),
    pytest.param(
        BASE.replace('condition = "< 100"', 'condition = "less than 100"'),
        [
            'p.toml:24: check "queues": condition: bad condition \'less than 100\': use an operator (<, <=, >, >=, ==, !=) and a number, e.g. "< 100"'
        ],
        id="bad_condition",
    ),
    pytest.param(
        BASE.replace('hosts = "web"', 'hosts = "wbe"'),
        ['p.toml:31: step "pause": hosts: unknown host group "wbe" (did you mean "web"?)'],
        id="unknown_group",
    ),
    pytest.param(
        BASE.replace('source = "prom"', 'source = "promo"'),
        ['p.toml:19: signal "queues": source: unknown source "promo" (did you mean "prom"?)'],
        id="unknown_source",
    ),
    pytest.param(
        BASE.replace('signal = "queues"', 'signal = "queue"'),
        ['p.toml:23: check "queue": signal: unknown signal "queue" (did you mean "queues"?)'],
        id="unknown_signal",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\nafter = [\n  "pause",\n  "puase",\n]\n'
        ),
        ['p.toml:42: step "b": after[1]: unknown step "puase" (did you mean "pause"?)'],
        id="unknown_after",
    ),
    pytest.param(
        BASE.replace(
            'command = "{artisan} horizon:pause"', 'command = "{artisan} horizon:pause"\nafter = ["b"]'
        )
        + '\n[[step]]\nid = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\nafter = ["pause"]\n',
        ['p.toml:33: step "pause": after forms a cycle: pause -> b -> pause'],
        id="cycle",
    ),
    pytest.param(
        BASE.replace("{artisan} horizon:pause", "{artisan} horizon:pause {queue}"),
        [
            'p.toml:32: step "pause": command: undefined var "{queue}" (define it in [vars], or write {{ }} for literal braces)'
        ],
        id="undefined_var",
    ),
    pytest.param(
        BASE.replace('artisan = "php artisan"', 'artisan = "cd {app} && php artisan"'),
        [
            'p.toml:11: vars.artisan: undefined var "{app}" (define it in [vars], or write {{ }} for literal braces)'
        ],
        id="var_in_var",
    ),
    pytest.param(
        BASE.replace('artisan = "php artisan"', 'artisan = "{a} php artisan"\na = "{artisan}"'),
        [
            'p.toml:11: vars.artisan: var "artisan" refers to itself (through {var} references)',
            'p.toml:12: vars.a: var "a" refers to itself (through {var} references)',
        ],
        id="var_cycle",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\nverify = { command = "{artisn} horizon:status" }\n'
        ),
        ['p.toml:40: step "b": verify.command: undefined var "{artisn}" (did you mean "artisan"?)'],
        id="verify_var",
    ),
    pytest.param(
        with_step('id = "pause"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\n'),
        ['p.toml:35: step "pause": duplicate step id "pause" (first defined at line 27)'],
        id="dup_step",
    ),
    pytest.param(
        BASE + '\n[[check]]\nsignal = "queues"\ncondition = "> 0"\n',
        [
            'p.toml:34: check "queues": duplicate check id "queues" (first defined at line 22); give it its own "id"'
        ],
        id="dup_check",
    ),
    pytest.param(
        BASE + '\n[[signal]]\nid = "queues"\nsource = "prom"\nquery = "up"\n',
        ['p.toml:35: signal "queues": duplicate signal id "queues" (first defined at line 18)'],
        id="dup_signal",
    ),
    pytest.param(
        with_step('id = "b"\ntitle = "B"\nphase = "rollback"\nkey = "p"\nhosts = "web"\ncommand = "x"\n'),
        ['p.toml:38: step "b": key: key "p" is already used by step "pause"'],
        id="dup_key",
    ),
    pytest.param(
        BASE.replace('key = "p"', 'key = "?"'),
        ['p.toml:30: step "pause": key: key "?" is reserved (the app\'s help key); choose another'],
        id="reserved_key",
    ),
    pytest.param(
        BASE.replace('key = "p"', 'key = "ctrl+b"'),
        ['p.toml:30: step "pause": key: key "ctrl+b" is reserved (the tmux prefix); choose another'],
        id="reserved_tmux",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "empty"\nrun = "once"\ncommand = "x"\n'
        ),
        ['p.toml:38: step "b": hosts: run = "once" needs a host, but host group "empty" is empty'],
        id="once_empty",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "console"\ncommand = "x"\ndestructive = true\n'
        ),
        ['p.toml:40: step "b": destructive: a destructive step must have run = "once" and confirm = "type"'],
        id="destructive",
    ),
    pytest.param(
        with_step('id = "b"\ntitle = "B"\nphase = "rollback"\ncommand = "x"\n'),
        ['p.toml:34: step "b": an ssh step needs "hosts" (a host group)'],
        id="ssh_no_hosts",
    ),
    pytest.param(
        with_step('id = "b"\ntitle = "B"\nphase = "post-rollback"\nkind = "local"\n'),
        ['p.toml:34: step "b": a local step needs "command"'],
        id="local_no_command",
    ),
    pytest.param(
        with_step('id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n'),
        ['p.toml:34: step "b": slack steps need a [step.slack] table'],
        id="slack_no_table",
    ),
    pytest.param(
        BASE.replace('url = "http://127.0.0.1:9090"\n', ""),
        ['p.toml:13: sources.prom: a prometheus source needs "url"'],
        id="prom_no_url",
    ),
    pytest.param(
        BASE.replace('query = "up"\n', ""),
        ['p.toml:17: signal "queues": signal on prometheus source "prom" needs "query" (PromQL)'],
        id="signal_no_query",
    ),
    pytest.param(
        BASE + '\n[sources.box]\nkind = "ssh"\n\n[[signal]]\nid = "load"\nsource = "box"\n',
        [
            'p.toml:34: sources.box: an ssh source needs "hosts" (the group whose first host runs commands)',
            'p.toml:37: signal "load": signal on ssh source "box" needs "command"',
        ],
        id="ssh_source",
    ),
    pytest.param(
        BASE.replace('hosts = "web"', 'hosts = "web"\nrun = "onse"'),
        [
            'p.toml:32: step "pause": run: "onse" is not one of "parallel", "serial", "once" (did you mean "once"?)'
        ],
        id="bad_literal",
    ),
    pytest.param(
        BASE.replace('[cockpit]\nname = "t"\nenvironment = "drill"\n', "# no cockpit table\n"),
        ["p.toml:1: missing required table [cockpit]"],
        id="missing_cockpit",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n\n[step.slack]\nwebhook = 12345678\ntext = "hi"\n'
        ),
        ['p.toml:41: step "b": slack.webhook: expected a string, got (value hidden)'],
        id="literal_secret",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n\n[step.slack]\nwebhook = "${env:COCKPIT_TEST_UNSET_HOOK}"\ntext = "hi"\n'
        ),
        [
            'p.toml:41: warning: step "b": slack.webhook: environment variable COCKPIT_TEST_UNSET_HOOK is not set (referenced as ${env:COCKPIT_TEST_UNSET_HOOK})'
        ],
        id="unset_env",
    ),
    pytest.param(
        BASE.replace('environment = "drill"', 'environment = "drill"\nkeys = { start_rollbak = "R" }'),
        [
            'p.toml:4: cockpit.keys.start_rollbak: unknown action "start_rollbak" (did you mean "start_rollback"?)'
        ],
        id="keys_action",
    ),
    pytest.param(
        BASE
        + '\n[sources.blue]\nkind = "http"\nurl = "http://127.0.0.1/healthz"\n\n[[signal]]\nid = "h"\nsource = "blue"\nquery = "up"\nfield = "body"\n',
        [
            'p.toml:41: signal "h": query: "query" is only for prometheus sources ("blue" is http)',
            'p.toml:42: signal "h": field: field must be "status", "latency" or "json:PATH", not "body"',
        ],
        id="query_on_http",
    ),
    pytest.param(
        BASE.replace("[[step]]", "[step]"),
        [
            "p.toml:26: step: expected a list of tables, got a table (write [[step]] for each entry, not [step])"
        ],
        id="step_as_table",
    ),
    pytest.param(
        BASE.replace('web = ["h1", "h2"]', 'web = ["h1", "h 2", "h1"]'),
        [
            'p.toml:6: hosts.web[1]: "h 2" is not a host name',
            'p.toml:6: hosts.web: host "h1" is listed twice in group "web"',
        ],
        id="bad_host_names",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "email"\n\n'
            '[step.email]\ntemplate = "t.md"\nto = []\nfrom = "a@b"\n'
        ),
        [
            'p.toml:41: warning: step "b": email.template: template file "t.md" not found (relative to the profile)',
            'p.toml:42: step "b": email.to: an email step needs at least one recipient',
        ],
        id="email_no_recipient",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n\n'
            '[step.jira]\nurl = "https://j"\nissue = "C-1"\ntoken = "${env:T}"\nbody = "x"\n'
        ),
        [
            'p.toml:34: step "b": slack steps need a [step.slack] table',
            'p.toml:40: step "b": jira: [step.jira] is only for kind = "jira" (this step is kind = "slack")',
        ],
        id="subtable_of_another_kind",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "communicate"\nkind = "slack"\n\n'
            '[step.slack]\nwebhook = "https://hooks.slack.com/services/T000/B000/XXXX"\ntext = "hi"\n'
        ),
        [
            'p.toml:41: warning: step "b": slack.webhook: holds a literal secret: use ${env:NAME} so it stays out of the file'
        ],
        id="literal_secret_string",
    ),
    pytest.param(
        with_step(
            'id = "b"\ntitle = "B"\nphase = "rollback"\nhosts = "web"\ncommand = "x"\nafter = [\n  "pause",\n  "b",\n]\n'
        ),
        ['p.toml:42: step "b": after[1]: step "b" cannot come after itself'],
        id="after_self_in_multiline_array",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_broken_profile_reports_exact_lines(text: str, expected: list[str]) -> None:
    profile, problems = parse_profile(text.encode(), "/x/p.toml", environ={"T": "1234"})
    assert [p.format("p.toml") for p in problems] == expected
    if any(p.severity == "error" for p in problems):
        assert profile is None


def test_base_profile_is_valid() -> None:
    profile, problems = parse_profile(BASE.encode(), "/x/p.toml", environ={})
    assert problems == []
    assert profile is not None
    assert [s.id for s in profile.steps] == ["pause"]
