"""The profile as immutable, typed objects.

This module is the single description of the profile format. The loader
(`cockpit.profile.load`) is driven by these dataclasses: every field's TOML
key is its name (``toml`` metadata overrides it), its type comes from the
annotation, and ``metadata`` says how strings are parsed (``parse="duration"``,
``parse="condition"``) and what the field means (``doc``, used by
``docs/profile.md`` and by ``cockpit check``'s messages). Adding a field here
is enough for the loader to accept, type-check and document it.

Durations are stored as float seconds. ``${env:NAME}`` references are kept
verbatim: they are resolved only where a request is built
(`cockpit.secrets.resolve`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar

from cockpit.conditions import Condition

Phase = Literal["prepare", "rollback", "validate", "communicate", "post-rollback"]
PHASES: tuple[str, ...] = ("prepare", "rollback", "validate", "communicate", "post-rollback")
RunMode = Literal["parallel", "serial", "once"]
ConfirmMode = Literal["none", "yes", "type"]
View = Literal["bars", "line", "history", "value", "alerts"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


_K = TypeVar("_K")
_V = TypeVar("_V")


def _empty_map() -> Mapping[_K, _V]:
    # default_factory: Python 3.11's mappingproxy is unhashable, so dataclasses refuse it as a default
    return MappingProxyType({})


def doc(text: str, **extra: object) -> dict[str, object]:
    """Field metadata: ``doc`` text plus loader hints (``parse``, ``toml``, ``secret``)."""
    return {"doc": text, **extra}


@dataclass(frozen=True)
class CockpitSettings:
    name: str = field(metadata=doc("Profile name, shown in the header and the journal."))
    environment: str = field(
        metadata=doc(
            "Environment name (production, staging, drill, demo). Typed confirmations ask for it; "
            "`production` is drawn in a warning colour.",
            exact=True,
        )
    )
    rto: float = field(
        default=900.0, metadata=doc("Recovery time objective, counted from rollback start.", parse="duration")
    )
    refresh: float = field(
        default=5.0, metadata=doc("Default polling interval of every source.", parse="duration", min=0.1)
    )
    read_only: bool = field(
        default=False, metadata=doc("Force read-only (observer) mode for everyone using this profile.")
    )
    keys: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc(
            "Rebinding of the app's own keys, e.g. `{ start_rollback = \"R\", quit = \"ctrl+q\" }`. "
            "Step keys are set on each step.",
            nonempty_values=True,
        ),
    )
    state_dir: str | None = field(
        default=None,
        metadata=doc(
            "Shared (bastion-wide) state directory for journals, locks, the driver's feed and approvals, "
            "made by `cockpit setup-bastion`. `$COCKPIT_STATE_DIR` wins; unset: `/var/lib/cockpit` when it "
            "exists, else `$XDG_STATE_HOME/cockpit` (this user only)."
        ),
    )
    approval_timeout: float = field(
        default=300.0,
        metadata=doc("How long a request for a second person's approval (`approve = true`) stays valid.",
                     parse="duration"),
    )


@dataclass(frozen=True)
class SshSettings:
    user: str | None = field(default=None, metadata=doc("Remote user; default from ssh config or $USER."))
    port: int = field(
        default=22, metadata=doc("Remote port; a `Port` in the ssh config wins for its hosts.", min=1, max=65535)
    )
    known_hosts: str = field(
        default="~/.ssh/known_hosts",
        metadata=doc(
            "known_hosts file. Host keys are always verified; there is no switch to disable it.", path=True
        ),
    )
    client_keys: tuple[str, ...] = field(
        default=(), metadata=doc("Private key files; empty means ssh-agent and the default identities.", path=True)
    )
    config: str | None = field(
        default=None, metadata=doc("OpenSSH client config (ProxyJump, IdentityFile, Port, User, ...).", path=True)
    )
    connect_timeout: float = field(
        default=10.0, metadata=doc("Timeout for opening one connection.", parse="duration")
    )
    keepalive: float = field(
        default=15.0,
        metadata=doc("Interval between keepalives on open connections; stretched for large fleets "
                     "(at most 20 keepalives a second: 1,000 hosts ping every 50 s).", parse="duration", min=1.0),
    )
    keepalive_count_max: int = field(
        default=3, metadata=doc("Keepalives without answer before a connection is declared dead.", min=1, max=1000)
    )
    handshakes: int = field(
        default=8,
        metadata=doc(
            "SSH handshakes in flight at most, over the whole fleet. sshd's default `MaxStartups 10:30:100` "
            "drops connections above 10 unauthenticated ones; 8 stays under it."
        ),
    )
    sign_first: bool = field(
        default=True,
        metadata=doc(
            "Authenticate in one round trip: start with `publickey` and sign with a key file's key at once "
            "(RFC 4252 allows both) instead of `none`, a query, then the signature, as ssh does. Agent, "
            "PKCS#11 and FIDO keys are still queried first, so nothing asks for a touch in vain. "
            "`false`: three round trips, for a server that wants `none` first."
        ),
    )


@dataclass(frozen=True)
class InventorySpec:
    ansible: tuple[str, ...] = field(
        default=(),
        metadata=doc(
            "Ansible inventory sources (INI/YAML files, directories, scripts), relative to the profile, read "
            "through `ansible-inventory --list` (`pip install 'cockpit[ansible]'`). Children groups are "
            "flattened; `ansible_host`, `ansible_port` and `ansible_user` say how each host is reached."
        ),
    )
    groups: tuple[str, ...] = field(
        default=(),
        metadata=doc("Ansible groups to import; empty: every group except `all` and `ungrouped`."),
    )
    ssh_config: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc(
            "Groups from the `[ssh] config` file and the files it `Include`s: "
            "`web = \"web-* !web-canary\"` holds every concrete `Host` alias those patterns match."
        ),
    )


@dataclass(frozen=True)
class HostAddress:
    """How one inventory host is reached (``ansible_host``/``ansible_port``/``ansible_user``)."""

    address: str | None = field(default=None, metadata=doc("`ansible_host`: the name or address to connect to.", toml=None))
    port: int | None = field(default=None, metadata=doc("`ansible_port`.", toml=None))
    user: str | None = field(default=None, metadata=doc("`ansible_user`.", toml=None))


@dataclass(frozen=True)
class SourceSpec:
    id: str = field(metadata=doc("The source's name: the key of its `[sources.NAME]` table.", toml=None))
    kind: str = field(metadata=doc("What the values come from: one of the source kinds above.", parse="source_kind"))
    url: str | None = field(
        default=None,
        metadata=doc("prometheus, alertmanager: base URL of the server; http: the URL probed. May hold `${env:…}`."),
    )
    headers: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc("Extra HTTP headers, e.g. `{ Authorization = \"Bearer ${env:PROM_TOKEN}\" }`."),
    )
    ca_bundle: str | None = field(
        default=None, metadata=doc("CA bundle file for TLS verification (TLS is always verified).", path=True)
    )
    timeout: float = field(
        default=3.0,
        metadata=doc(
            "Timeout of one sample (request or command). prometheus/http: the TOTAL time of the request, "
            "answer included (a server trickling its answer is cut off at this point).",
            parse="duration",
        ),
    )
    max_bytes: int = field(
        default=4 * 1024 * 1024,
        metadata=doc(
            "prometheus/http: the largest answer read, in bytes (default 4 MB); a longer one is a "
            "failed sample (\"answer over 4 MB\"), dropped as soon as it passes the cap."
        ),
    )
    interval: float | None = field(
        default=None, metadata=doc("Polling interval; default `cockpit.refresh`.", parse="duration", min=0.1)
    )
    hosts: str | None = field(
        default=None, metadata=doc("ssh: the host group whose FIRST host runs the signal's command.")
    )
    backfill: float = field(
        default=900.0,
        metadata=doc("prometheus: range fetched once at start to fill the panels.", parse="duration"),
    )
    scrape_interval: float = field(
        default=15.0,
        metadata=doc(
            "prometheus: the scrape (and rule evaluation) interval of the series the signals read; "
            "sets the default `max_age`.",
            parse="duration",
        ),
    )
    max_age: float | None = field(
        default=None,
        metadata=doc(
            "prometheus: oldest raw sample a fresh value may be computed from; older is stale. "
            "Default `2 × scrape_interval + 5s`. A signal's own `max_age` wins.",
            parse="duration",
        ),
    )
    targets: tuple[str, ...] = field(
        default=(),
        metadata=doc(
            "prometheus: `up` selectors of the scrape targets feeding this source, e.g. "
            "`['up{job=\"academy\"}']`. When any target is down (`up == 0`), missing, or its `up` "
            "sample is older than `max_age`, every signal of the source is stale, recording rules included."
        ),
    )
    tables: Mapping[str, object] = field(
        default_factory=_empty_map,
        metadata=doc("`[sources.NAME.KIND]`: the table of a registered source kind.", toml=None, kind_tables="source"),
    )


@dataclass(frozen=True)
class SignalSpec:
    id: str = field(metadata=doc("Unique signal id, referenced by checks."))
    source: str = field(metadata=doc("Name of a `[sources.NAME]` table."))
    title: str = field(default="", metadata=doc("Panel title."))
    query: str | None = field(default=None, metadata=doc("prometheus: the PromQL instant query."))
    label: str | None = field(
        default=None,
        metadata=doc(
            "prometheus: the label naming each series (e.g. `queue`); default: the only label that varies."
        ),
    )
    command: str | None = field(
        default=None,
        metadata=doc("ssh: command printing a number, or `label value` lines. `{var}` substituted."),
    )
    field_: str = field(
        default="status",
        metadata=doc(
            "http: what the value is: `status` (HTTP status code), `latency` (seconds), or "
            "`json:PATH` (a dotted path into the JSON body, e.g. `json:lag_seconds`).",
            toml="field",
        ),
    )
    unit: str = field(default="", metadata=doc("Unit shown after values: `%`, `s`, `ms`, `jobs`, ..."))
    scale: float = field(
        default=1.0, metadata=doc("Multiply values by this for display (e.g. 100 to show a ratio as %).", above=0)
    )
    view: View = field(
        default="value",
        metadata=doc("Panel kind: `bars`, `line` (sparkline), `history` (cells), `value`, `alerts` "
                     "(an alertmanager signal: what pages, what is silenced)."),
    )
    filter: tuple[str, ...] = field(
        default=(),
        metadata=doc(
            "alertmanager: matchers of the alerts shown, Alertmanager's `filter` syntax, e.g. "
            "`['env=\"production\"', 'alertname=~\"Horizon.*\"']`. Each active alert is a series: 1 = it pages "
            "(not silenced, not inhibited), 0 = silenced or inhibited."
        ),
    )
    expected_workers: Mapping[str, int] = field(
        default_factory=_empty_map,
        metadata=doc("bars: expected worker scale per series (as documented in `horizon.php`).", min=0),
    )
    workers_signal: str | None = field(
        default=None, metadata=doc("bars: a signal giving the current worker count per series.")
    )
    history: int = field(
        default=720, metadata=doc("Samples kept per series (ring buffer size).", min=1, max=100_000)
    )
    max_age: float | None = field(
        default=None,
        metadata=doc(
            "prometheus: oldest raw sample a fresh value may be computed from (overrides the source's).",
            parse="duration",
        ),
    )
    tables: Mapping[str, object] = field(
        default_factory=_empty_map,
        metadata=doc("`[signal.KIND]`: the table of a registered source kind.", toml=None, kind_tables="signal"),
    )


@dataclass(frozen=True)
class CheckSpec:
    id: str = field(metadata=doc("Unique check id; default: the signal id.", default_from="signal"))
    signal: str = field(metadata=doc("The signal whose every series must hold the condition."))
    condition: Condition = field(
        metadata=doc("`< 100`, `<= 0.001`, `== 200`, `!= 0`, `>= 1`, `> 0`.", parse="condition")
    )
    title: str = field(default="", metadata=doc("Line in the checklist."))
    consecutive: int = field(default=1, metadata=doc("Consecutive passing samples needed.", min=1, max=1000))
    within: float | None = field(
        default=None,
        metadata=doc(
            "Deadline counted from rollback start: not `ok` AT the deadline (on fresh data, for "
            "`consecutive` samples) means `missed`; see \"`within`\" above.", parse="duration"
        ),
    )
    note: str = field(default="", metadata=doc("Why this check matters; shown in help and reports."))


@dataclass(frozen=True)
class VerifySpec:
    command: str = field(metadata=doc("Command run on the same hosts after the step. `{var}` substituted."))
    exit_status: int | None = field(
        default=0, metadata=doc("Exit status it must give (e.g. 1 for `horizon:status` when paused).", min=0, max=255)
    )
    output: str | None = field(
        default=None, metadata=doc("A regular expression its output must match (optional).")
    )


@dataclass(frozen=True)
class SlackSpec:
    webhook: str = field(metadata=doc("Incoming webhook URL; use `${env:NAME}`.", secret=True))
    text: str = field(metadata=doc("Message text; `{placeholders}` from the incident facts."))
    dashboards: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc(
            "Dashboard links by title; `{from}`/`{to}` become the incident window (ms epoch), "
            "`{from_iso}`/`{to_iso}` (ISO 8601 UTC) and `{from_s}`/`{to_s}` (epoch seconds) too.",
            nonempty_values=True,
        ),
    )


@dataclass(frozen=True)
class EmailSpec:
    template: str = field(metadata=doc("Markdown template file, relative to the profile.", path=True))
    to: tuple[str, ...] = field(metadata=doc("Recipients."))
    sender: str = field(metadata=doc("From address.", toml="from"))
    subject: str = field(default="", metadata=doc("Subject; `{placeholders}` allowed."))
    smtp_host: str | None = field(default=None, metadata=doc("SMTP server; unset: write to `outbox`."))
    smtp_port: int = field(default=587, metadata=doc("SMTP port.", min=1, max=65535))
    starttls: bool = field(default=True, metadata=doc("Use STARTTLS."))
    username: str | None = field(default=None, metadata=doc("SMTP user; `${env:…}` allowed."))
    password: str | None = field(default=None, metadata=doc("SMTP password; use `${env:…}`.", secret=True))
    outbox: str | None = field(
        default=None,
        metadata=doc("Write the rendered email here (a file, or a directory) instead of sending.", path="directory_ok"),
    )
    ca_bundle: str | None = field(
        default=None, metadata=doc(
            "CA bundle for the STARTTLS certificate, relative to the profile (TLS is always verified).", path=True
        )
    )


@dataclass(frozen=True)
class JiraSpec:
    url: str = field(metadata=doc("Jira base URL."))
    issue: str = field(metadata=doc("Issue key of the change, e.g. `CHG-1234`."))
    token: str = field(metadata=doc("API token; use `${env:…}`.", secret=True))
    user: str | None = field(default=None, metadata=doc("User for basic auth (Cloud); unset: Bearer token."))
    api: int = field(
        default=2, metadata=doc("REST API version: 2 (plain text) or 3 (Atlassian Document Format).", min=2, max=3)
    )
    body: str | None = field(default=None, metadata=doc("Comment text; `{placeholders}` allowed."))
    template: str | None = field(
        default=None, metadata=doc("Comment template file, relative to the profile.", path=True)
    )
    report: bool = field(default=False, metadata=doc(
        "Post the incident timeline (`cockpit report`) as the comment: Jira wiki markup for API v2, plain text "
        "for v3; every value from the journal escaped."
    ))
    attachments: str | None = field(
        default=None, metadata=doc("Glob of files to attach, relative to the profile.", path=True)
    )
    ca_bundle: str | None = field(
        default=None, metadata=doc(
            "CA bundle for Jira's TLS certificate, relative to the profile (TLS is always verified).", path=True
        )
    )


@dataclass(frozen=True)
class SilenceSpec:
    source: str = field(metadata=doc("The `kind = \"alertmanager\"` source to silence on (its url, headers, TLS)."))
    matchers: tuple[str, ...] = field(
        metadata=doc(
            "The alerts silenced: every matcher must hold, e.g. `['alertname=~\"HorizonPaused|OctaneDown\"', "
            "'env=\"production\"']` (operators `=`, `!=`, `=~`, `!~`; values in double quotes)."
        )
    )
    duration: float = field(
        default=1800.0,
        metadata=doc("Length of the silence (`endsAt` = now + this); extended while the rollback runs.",
                     parse="duration", min=1.0),
    )
    margin: float = field(
        default=300.0,
        metadata=doc("Extend the silence when less than this is left of it (and the rollback has not ended).",
                     parse="duration"),
    )
    comment: str = field(
        default="cockpit rollback of {profile} ({environment}), incident {incident}, driven by {driver}",
        metadata=doc("The silence's comment; `{placeholders}` of the incident facts, and `{incident}` (the journal)."),
    )
    required: bool = field(
        default=False,
        metadata=doc(
            "When false, a silence that cannot be created fails its row (with the reason) but does not hold "
            "back the steps that list it in `after`; true: they wait for it, like any failed step."
        ),
    )


@dataclass(frozen=True)
class AnnotateSpec:
    text: str = field(metadata=doc("The annotation's text; `{placeholders}` of the incident facts."))
    tags: tuple[str, ...] = field(default=(), metadata=doc("Tags added to `[grafana] tags`."))
    required: bool = field(
        default=False,
        metadata=doc("When false, a failed annotation fails its row but does not hold back steps listing it in `after`."),
    )


@dataclass(frozen=True)
class GrafanaSettings:
    url: str | None = field(default=None, metadata=doc("Grafana base URL, e.g. `https://grafana.example`."))
    token: str | None = field(
        default=None,
        metadata=doc("Service-account token, sent as `Authorization: Bearer …`; use `${env:…}`.", secret=True),
    )
    dashboard_uid: str | None = field(
        default=None, metadata=doc("Dashboard the annotations belong to (`dashboardUID`); unset: organization-wide.")
    )
    panel_id: int | None = field(default=None, metadata=doc("Panel of that dashboard (`panelId`).", min=0))
    tags: tuple[str, ...] = field(
        default=("cockpit",), metadata=doc("Tags of every annotation cockpit posts (the incident's name is added).")
    )
    annotate_rollback: bool = field(
        default=False,
        metadata=doc("Post a region annotation when the rollback starts and close it (`timeEnd`) when it ends."),
    )
    annotate_steps: tuple[str, ...] = field(
        default=(), metadata=doc("Steps that get a point annotation when they end (their state in the text).")
    )
    dashboards: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc(
            "Dashboard links by title, shown on screen (`i` details of the rollback) and in the report; "
            "`{from}`/`{to}` become the incident window (ms epoch).",
            nonempty_values=True,
        ),
    )
    timeout: float = field(
        default=10.0, metadata=doc("TOTAL time of each request (connection, retry, answer).", parse="duration")
    )
    ca_bundle: str | None = field(
        default=None, metadata=doc("CA bundle for Grafana's TLS certificate (TLS is always verified).", path=True)
    )


@dataclass(frozen=True)
class AnsibleSpec:
    playbook: str | None = field(
        default=None, metadata=doc("Playbook file, relative to the profile; its plays' `hosts` are limited to the step's.")
    )
    module: str | None = field(
        default=None, metadata=doc("Instead of a playbook: an ad-hoc module (`shell`, `service`, ...).")
    )
    args: str = field(default="", metadata=doc("The module's arguments. `{var}` substituted."))
    extravars: Mapping[str, str] = field(
        default_factory=_empty_map, metadata=doc("Extra variables (`-e`). `{var}` substituted.")
    )
    forks: int = field(default=50, metadata=doc("Hosts Ansible works on at once."))
    become: bool = field(default=False, metadata=doc("Run with `become` (sudo)."))


@dataclass(frozen=True)
class GateSpec:
    checks: tuple[str, ...] = field(
        metadata=doc("Check ids that must hold on live data before the next batch starts.")
    )
    samples: int = field(
        default=2, metadata=doc("Fresh samples, in a row, on which every named check must be ok.")
    )
    timeout: float = field(
        default=300.0,
        metadata=doc("Longest wait for the gate after a batch; past it, the rollout stops.",
                     parse="duration"),
    )


@dataclass(frozen=True)
class StepSpec:
    id: str = field(metadata=doc("Unique step id, used by `after` and `cockpit run`."))
    title: str = field(metadata=doc("Line in the checklist."))
    phase: Phase = field(metadata=doc("`prepare`, `rollback`, `validate`, `communicate` or `post-rollback`."))
    key: str | None = field(default=None, metadata=doc("Key that fires the step in the TUI (one key)."))
    kind: str = field(
        default="ssh", metadata=doc("What the step does: one of the step kinds above.", parse="step_kind")
    )
    hosts: str | None = field(default=None, metadata=doc("ssh, ansible: the host group it runs on."))
    run: RunMode = field(
        default="parallel",
        metadata=doc("ssh: `parallel`, `serial` (stop at first failure) or `once` (one host only)."),
    )
    concurrency: int = field(default=0, metadata=doc("parallel: at most this many hosts at once; 0 = all.", min=0))
    continue_on_error: bool = field(default=False, metadata=doc("serial: go on after a failing host."))
    batch: tuple[str, ...] = field(
        default=(),
        metadata=doc(
            "parallel ssh, ansible: roll out in batches, e.g. `[1, \"10%\", \"25%\"]` (host counts or shares "
            "of the hosts; the last size repeats). Each batch runs in parallel (ansible: one run with "
            "`--limit` to the batch) and ends before the next starts.",
            parse="sizes",
        ),
    )
    max_fail: str = field(
        default="0",
        metadata=doc(
            "batch: failure budget over the whole rollout (`3` or `\"10%\"`); more failed hosts than this "
            "stop it after the current batch.",
            parse="size",
        ),
    )
    gate: GateSpec | None = field(
        default=None, metadata=doc("batch: checks to wait for between batches (`[step.gate]`).")
    )
    command: str | None = field(default=None, metadata=doc("ssh/local: the command. `{var}` substituted."))
    timeout: float = field(
        default=120.0,
        metadata=doc(
            "Per-host timeout; the remote command is stopped. slack/jira/email: the TOTAL time of each "
            "request (connection, retry, the whole answer).",
            parse="duration",
        ),
    )
    pty: bool = field(
        default=True,
        metadata=doc(
            "ssh: run the command on a terminal: output streams line by line, stderr merged into it, and a "
            "stop or a dropped connection hangs the terminal up. `false`: no terminal, less work for sshd on "
            "every host (the pty cost a 1,000-host fan-out 8–38 %, docs/fleet.md); a program that buffers "
            "its output off a terminal sends it in blocks; a stop kills the command's process group from a "
            "second session, but a dropped connection leaves it running (the host's result says so).",
        ),
    )
    confirm: ConfirmMode = field(
        default="yes",
        metadata=doc(
            "`none`: fires at once; `yes`: a confirmation (headless: `--yes`); `type`: the environment "
            "name must be typed (headless: `--confirm ENV`)."
        ),
    )
    destructive: bool = field(
        default=False, metadata=doc("Destructive: must be `run = \"once\"` and `confirm = \"type\"`.")
    )
    after: tuple[str, ...] = field(default=(), metadata=doc("Steps that must have succeeded first."))
    approve: bool = field(
        default=False,
        metadata=doc(
            "Two-person rule: before it runs, another Unix user approves exactly this command on these "
            "hosts (`cockpit approve STEP` or the observer's screen), within `approval_timeout`."
        ),
    )
    preview: str | None = field(
        default=None, metadata=doc("Command whose output is shown before confirming (e.g. `--pretend`).")
    )
    verify: VerifySpec | None = field(default=None, metadata=doc("A command proving the step worked."))
    note: str = field(default="", metadata=doc("Why / what to watch: shown in the confirmation."))
    starts_rollback: bool = field(
        default=False, metadata=doc("Firing this step starts the RTO clock if it is not running.")
    )
    ends_rollback: bool = field(default=False, metadata=doc("Success of this step ends the rollback."))
    slack: SlackSpec | None = field(default=None, metadata=doc("kind = slack: `[step.slack]`."))
    email: EmailSpec | None = field(default=None, metadata=doc("kind = email: `[step.email]`."))
    jira: JiraSpec | None = field(default=None, metadata=doc("kind = jira: `[step.jira]`."))
    ansible: AnsibleSpec | None = field(
        default=None,
        metadata=doc("kind = ansible: `[step.ansible]` (`pip install 'cockpit[ansible]'`); runs on `hosts`."),
    )
    tables: Mapping[str, object] = field(
        default_factory=_empty_map,
        metadata=doc("`[step.KIND]`: the table of a registered step kind without a field here.", toml=None,
                     kind_tables="step"),
    )


@dataclass(frozen=True)
class Profile:
    """A loaded, validated profile. ``path`` is the file it came from."""

    # ``toml`` names the key; ``optional=True``: an absent table means empty (or all defaults).
    path: str = field(metadata=doc("The profile file (absolute).", toml=None))
    cockpit: CockpitSettings = field(metadata=doc("Name, environment, RTO clock, refresh and the app's keys."))
    ssh: SshSettings = field(metadata=doc("How hosts are reached. Host keys are always verified.", optional=True))
    hosts: Mapping[str, tuple[str, ...]] = field(
        metadata=doc("Host groups: `name = [\"host\", ...]`; a single string is a group of one host.",
                     optional=True)
    )
    vars: Mapping[str, str] = field(
        metadata=doc("`{name}` substitutions for commands; vars may use vars.", optional=True)
    )
    sources: Mapping[str, SourceSpec] = field(
        metadata=doc("Where signals come from; NAME is the source's id.", optional=True)
    )
    signals: tuple[SignalSpec, ...] = field(
        metadata=doc("Live values drawn as panels.", toml="signal", optional=True)
    )
    checks: tuple[CheckSpec, ...] = field(
        metadata=doc("Validation checks: a condition every series of a signal must hold.", toml="check", optional=True)
    )
    steps: tuple[StepSpec, ...] = field(
        metadata=doc("The runbook's steps, in the order they are shown.", toml="step", optional=True)
    )
    inventory: InventorySpec = field(
        default_factory=InventorySpec,
        metadata=doc("Host groups read from an Ansible inventory or the ssh config.", optional=True),
    )
    grafana: GrafanaSettings = field(
        default_factory=GrafanaSettings,
        metadata=doc("Grafana annotations of the rollback (region) and of chosen steps (points).", optional=True),
    )
    host_vars: Mapping[str, HostAddress] = field(
        default_factory=_empty_map, metadata=doc("Inventory hosts' addresses, ports and users.", toml=None)
    )
    host_sources: Mapping[str, str] = field(
        default_factory=_empty_map, metadata=doc("Group -> where an inventory group came from.", toml=None)
    )
    inventory_cache: Mapping[str, str] = field(
        default_factory=_empty_map,
        metadata=doc("Ansible inventory -> how it was read (from the cache, or by ansible-inventory).", toml=None),
    )
    sha256: str = field(default="", metadata=doc("sha256 of the profile file's bytes.", toml=None))

    def step(self, step_id: str) -> StepSpec:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def signal(self, signal_id: str) -> SignalSpec:
        for s in self.signals:
            if s.id == signal_id:
                return s
        raise KeyError(signal_id)

    def expand(self, text: str) -> str:
        """Substitute ``{var}`` from ``[vars]`` (validated at load: every name is defined).

        ``{{`` and ``}}`` stand for literal braces. Vars may reference earlier vars.
        """
        from cockpit.profile.vars import expand_vars

        return expand_vars(text, self.vars)
