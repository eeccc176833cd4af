"""The drill stack's generated files: per-host .env, sshd and ssh client config, known_hosts,
Prometheus config and recording rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

# Every host of the drill is a distinct loopback address served by the same sshd.
HOSTS: Mapping[str, str] = {
    "web-1": "127.0.1.1",
    "web-2": "127.0.1.2",
    "worker-1": "127.0.1.3",
    "console": "127.0.1.4",
}
WEB = ("web-1", "web-2")
WORKERS = ("worker-1",)
QUEUES = ("feed", "notifications", "search-index")

# The seed names `http_5xx_rate`; the drill computes it over 15 s instead of a production-sized
# window so that the rate falls within seconds of the fix (thresholds stay the seed's).
RATE_WINDOW = "15s"


def dotenv(host: str, db: Path, redis_port: int, octane: bool) -> str:
    return (
        "APP_NAME=Academy\nAPP_ENV=drill\nAPP_DEBUG=false\n"
        f"ACADEMY_HOST={host}\nDB_DATABASE={db}\n"
        f"REDIS_HOST=127.0.0.1\nREDIS_PORT={redis_port}\n"
        f"OCTANE_ENABLED={'true' if octane else 'false'}\nOCTANE_FAULT_PERCENT=30\n"
    )


def serve_env(addr: str, port: int, run_dir: Path, host: str) -> str:
    """Read by the app's ``bin/serve`` (the FPM stand-in): where this host's server listens."""
    return (
        f"SERVE_ADDR={addr}:{port}\n"
        f"SERVE_PID={run_dir / 'pids' / f'php-{host}.pid'}\n"
        f"SERVE_LOG={run_dir / 'logs' / f'php-{host}.log'}\n"
        "SERVE_WORKERS=3\n"
    )


def sshd_config(run_dir: Path, port: int, hosts_dir: Path) -> str:
    """One sshd on every host address. sshd keeps the FIRST SetEnv it meets, so each host's
    ``Match LocalAddress`` block carries all of its variables, SHLVL=1 included (it keeps bash
    from sourcing root's costly ~/.bashrc)."""
    ssh = run_dir / "ssh"
    lines = [f"ListenAddress {addr}:{port}" for addr in HOSTS.values()]
    lines += [
        f"HostKey {ssh / 'ssh_host_ed25519_key'}",
        f"PidFile {run_dir / 'sshd.pid'}",
        f"AuthorizedKeysFile {ssh / 'authorized_keys'}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "MaxStartups 200:30:400",
        "MaxSessions 100",
        "LogLevel ERROR",
    ]
    for name, addr in HOSTS.items():
        lines += [
            f"Match LocalAddress {addr}",
            f"  SetEnv ACADEMY_HOST={name} ACADEMY_ROOT={hosts_dir / name} SHLVL=1",
        ]
    return "\n".join(lines) + "\n"


def ssh_config(port: int, user: str, client_key: Path, known_hosts: Path) -> str:
    return "".join(
        f"Host {name}\n  HostName {addr}\n  Port {port}\n  User {user}\n"
        f"  IdentityFile {client_key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking yes\n"
        for name, addr in HOSTS.items()
    )


def known_hosts(port: int, key_type: str, key_b64: str) -> str:
    return "".join(
        f"[{name}]:{port},[{addr}]:{port} {key_type} {key_b64}\n" for name, addr in HOSTS.items()
    )


def prometheus_yml(http_port: int, rules: Path) -> str:
    web = "\n".join(
        f"      - targets: ['{HOSTS[h]}:{http_port}']\n        labels: {{host: {h}}}" for h in WEB
    )
    worker = "\n".join(
        f"      - targets: ['{HOSTS[h]}:{http_port}']\n        labels: {{host: {h}}}" for h in WORKERS
    )
    return f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: academy-web
    static_configs:
{web}
  - job_name: academy-worker
    metrics_path: /metrics/worker
    static_configs:
{worker}
"""


def rules_yml() -> str:
    w = RATE_WINDOW
    return f"""groups:
  - name: academy
    interval: 1s
    rules:
      - record: http_5xx_rate
        labels: {{stack: blue}}
        expr: >
          sum(rate(academy_http_requests_total{{status=~"5.."}}[{w}]))
          / sum(rate(academy_http_requests_total[{w}]))
"""
