"""The drill stack: a real Academy-like Laravel 8 app on loopback, ready to be rolled back.

Redis, one sshd answering as web-1, web-2, worker-1 and console (distinct 127.0.1.x
addresses), `php -S` per web host (the FPM stand-in), a metrics endpoint on worker-1, three
`queue:work` workers, Prometheus scraping them every second, and a load generator. `up`
deploys the BAD release: expand + contract migrations in one batch, OCTANE_ENABLED=true
and a warmed config cache on the web hosts, so 5xx is well above 0.1 %.

    python -m tests.drill.stack up [--run-dir DIR]     # prints the generated profile's path
    python -m tests.drill.stack status [--run-dir DIR]
    python -m tests.drill.stack redeploy [--run-dir DIR]  # break it again to practise again
    python -m tests.drill.stack down [--run-dir DIR]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w

from tests.drill import configs, procs
from tests.support.sshd import free_port, keygen

HERE = Path(__file__).resolve().parent
APP = HERE / "app"
REPO = HERE.parent.parent
PROFILE_TEMPLATE = REPO / "profiles" / "drill.toml"
DEFAULT_RUN_DIR = HERE / "run"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PHP = shutil.which("php") or "/usr/bin/php"
MIGRATION_PATHS = ("database/migrations", "database/migrations/expand", "database/migrations/contract")


class StackError(RuntimeError):
    """The stack could not be brought up (the message says which part and why)."""


@dataclass(frozen=True)
class StackInfo:
    run_dir: str
    addresses: dict[str, str]
    web: list[str]
    workers: list[str]
    ssh_port: int
    http_port: int
    redis_port: int
    prom_port: int
    db: str
    profile: str
    ssh_config: str
    known_hosts: str
    client_key: str

    @property
    def prom_url(self) -> str:
        return f"http://127.0.0.1:{self.prom_port}"

    def host_dir(self, host: str) -> Path:
        return Path(self.run_dir) / "hosts" / host

    def url(self, host: str, path: str) -> str:
        return f"http://{self.addresses[host]}:{self.http_port}{path}"

    @classmethod
    def load(cls, run_dir: Path) -> StackInfo:
        return cls(**json.loads((run_dir / "stack.json").read_text()))


def _port_free_everywhere(port: int, addrs: list[str]) -> bool:
    for addr in addrs:
        with socket.socket() as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def _shared_port(addrs: list[str]) -> int:
    for _ in range(50):
        port = free_port(addrs[0])
        if _port_free_everywhere(port, addrs):
            return port
    raise StackError(f"no port free on all of {', '.join(addrs)}")


def _redis(port: int, *args: str) -> bytes:
    """One command in Redis' wire protocol; the raw reply (enough for counts and flags)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload.encode())
        return s.recv(65536)


def _connects(addr: str, port: int) -> bool:
    with socket.create_connection((addr, port), timeout=0.5):
        return True


def _http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def prom_query(prom_url: str, query: str) -> list[dict[str, object]]:
    """An instant query against the real Prometheus HTTP API; the `result` vector."""
    status, body = _http_get(f"{prom_url}/api/v1/query?" + urllib.parse.urlencode({"query": query}))
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        raise StackError(f"prometheus query {query!r} failed: {status} {body[:200]!r}")
    return list(data["data"]["result"])


class Stack:
    """Brings the drill stack up and down under ``run_dir`` (state, logs, pids, per-host apps)."""

    def __init__(self, run_dir: Path = DEFAULT_RUN_DIR) -> None:
        self.run_dir = run_dir.resolve()

    # ---- public --------------------------------------------------------------------------
    def up(self) -> StackInfo:
        if procs.leftovers(self.run_dir):
            raise StackError(f"a drill stack is already running from {self.run_dir}: run `down` first")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        (self.run_dir / "pids").mkdir(parents=True)
        try:
            info = self._plan()
            (self.run_dir / "stack.json").write_text(json.dumps(asdict(info), indent=2))
            self._start_redis(info)
            self._install_hosts(info)
            self._deploy_bad_release(info)
            self._start_web(info)
            self._start_workers(info)
            self._wait_workers(info)
            self._start_sshd(info)
            self._start_prometheus(info)
            procs.start("loadgen", [sys.executable, "-m", "tests.drill.loadgen", str(self.run_dir)],
                        self.run_dir, cwd=REPO)
            self._write_profile(info)
            self._wait_scraped(info)
        except (TimeoutError, OSError, ValueError, procs.ProcessDied, subprocess.SubprocessError) as e:
            procs.stop_all(self.run_dir)
            raise StackError(str(e)) from None
        except BaseException:
            procs.stop_all(self.run_dir)
            raise
        return info

    def down(self) -> list[int]:
        """Stop everything; returns the pids still alive afterwards (empty when clean)."""
        procs.stop_all(self.run_dir)
        return procs.leftovers(self.run_dir)

    def status(self) -> dict[str, object]:
        pids = {}
        for pid_file in sorted((self.run_dir / "pids").glob("*.pid")):
            try:
                pid = int(pid_file.read_text().strip())
            except ValueError:
                continue
            pids[pid_file.stem] = {"pid": pid, "alive": procs.alive(pid)}
        loadgen = self.run_dir / "loadgen.json"
        return {
            "run_dir": str(self.run_dir),
            "processes": pids,
            "requests": json.loads(loadgen.read_text()) if loadgen.exists() else {},
            "profile": str(self.run_dir / "drill.toml"),
        }

    # ---- steps of `up` -----------------------------------------------------------------------
    def _plan(self) -> StackInfo:
        addrs = list(configs.HOSTS.values())
        ssh = self.run_dir / "ssh"
        return StackInfo(
            run_dir=str(self.run_dir),
            addresses=dict(configs.HOSTS),
            web=list(configs.WEB),
            workers=list(configs.WORKERS),
            ssh_port=_shared_port(addrs),
            http_port=_shared_port(addrs),
            redis_port=free_port(),
            prom_port=free_port(),
            db=str(self.run_dir / "academy.sqlite"),
            profile=str(self.run_dir / "drill.toml"),
            ssh_config=str(ssh / "ssh_config"),
            known_hosts=str(ssh / "known_hosts"),
            client_key=str(ssh / "id_ed25519"),
        )

    def _start_redis(self, info: StackInfo) -> None:
        (self.run_dir / "redis").mkdir()
        procs.start("redis", [REDIS, "--port", str(info.redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--daemonize", "no",
                              "--dir", str(self.run_dir / "redis")], self.run_dir)

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", info.redis_port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")

        procs.wait_until(pong, 10, "redis-server", abort=lambda: procs.died("redis", self.run_dir))

    def _install_hosts(self, info: StackInfo) -> None:
        ignore = shutil.ignore_patterns(".env", "*.log", "*.dump", "config.php", "packages.php",
                                        "services.php", "routes-v7.php", "events.php")
        Path(info.db).touch()
        for host, addr in info.addresses.items():
            d = info.host_dir(host)
            shutil.copytree(APP, d, ignore=ignore)
            (d / ".env").write_text(configs.dotenv(host, Path(info.db), info.redis_port, octane=False))
            (d / ".serve").write_text(configs.serve_env(addr, info.http_port, self.run_dir, host))

    def artisan(self, info: StackInfo, host: str, *args: str) -> str:
        r = subprocess.run([PHP, "artisan", *args], cwd=info.host_dir(host), capture_output=True,
                           text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise StackError(f"{host}: php artisan {' '.join(args)} exited {r.returncode}: "
                             f"{(r.stdout + r.stderr).strip()[-800:]}")
        return r.stdout

    def _deploy_bad_release(self, info: StackInfo) -> None:
        """The previous release (batch 1), then the bad one."""
        self.artisan(info, "console", "migrate", "--force")
        self.deploy_bad_release(info)

    def deploy_bad_release(self, info: StackInfo) -> None:
        """(Re)deploy the bad release on a running or installed stack, so the drill can be run
        again without `down`/`up`: expand + contract in one new batch, Horizon running, Octane
        on and a warmed config cache on the web hosts."""
        self.artisan(info, "console", "migrate", "--path=database/migrations/expand",
                     "--path=database/migrations/contract", "--force")
        for host in info.workers:
            self.artisan(info, host, "horizon:continue")
        for host in info.web:
            d = info.host_dir(host)
            (d / ".env").write_text(configs.dotenv(host, Path(info.db), info.redis_port, octane=True))
            self.artisan(info, host, "octane:start")
            self.artisan(info, host, "config:cache")

    def _start_web(self, info: StackInfo) -> None:
        # web hosts serve the app; worker-1 serves only its /metrics/worker exporter.
        for host in [*info.web, *info.workers]:
            r = subprocess.run([str(info.host_dir(host) / "bin" / "serve"), "start"], capture_output=True,
                               text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
            if r.returncode != 0:
                raise StackError(f"{host}: bin/serve start failed: {(r.stdout + r.stderr).strip()}")
            procs.wait_until(lambda h=host: _http_get(info.url(h, "/metrics"))[0] == 200, 15,
                             f"{host} php -S /metrics")

    def _start_workers(self, info: StackInfo) -> None:
        for host in info.workers:
            for queue in configs.QUEUES:
                procs.start(f"queue-{host}-{queue}",
                            [PHP, "artisan", "queue:work", "redis", f"--queue={queue}", "--sleep=1",
                             "--tries=1"], self.run_dir, cwd=info.host_dir(host))

    def _wait_workers(self, info: StackInfo) -> None:
        """Every queue worker has looped once (its heartbeat is in Redis)."""
        names = [f"queue-{h}-{q}" for h in info.workers for q in configs.QUEUES]

        def beating() -> bool:
            reply = _redis(info.redis_port, "KEYS", "laravel_database_horizon:heartbeat:*")
            return reply.count(b"heartbeat") >= len(names)

        def any_died() -> str | None:
            return next((m for n in names if (m := procs.died(n, self.run_dir))), None)

        procs.wait_until(beating, 20, "queue workers' heartbeat", abort=any_died)

    def _start_sshd(self, info: StackInfo) -> None:
        ssh = self.run_dir / "ssh"
        ssh.mkdir()
        keygen(ssh / "ssh_host_ed25519_key")
        keygen(Path(info.client_key))
        auth = ssh / "authorized_keys"
        auth.write_text(Path(info.client_key + ".pub").read_text())
        auth.chmod(0o600)
        key_type, key_b64 = (ssh / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        Path(info.known_hosts).write_text(configs.known_hosts(info.ssh_port, key_type, key_b64))
        Path(info.ssh_config).write_text(
            configs.ssh_config(info.ssh_port, getpass.getuser(), Path(info.client_key), Path(info.known_hosts)))
        cfg = ssh / "sshd_config"
        cfg.write_text(configs.sshd_config(self.run_dir, info.ssh_port, self.run_dir / "hosts"))
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        procs.start("sshd", [SSHD, "-D", "-e", "-f", str(cfg)], self.run_dir)
        for addr in info.addresses.values():
            procs.wait_until(lambda a=addr: _connects(a, info.ssh_port), 10, f"sshd on {addr}:{info.ssh_port}",
                             abort=lambda: procs.died("sshd", self.run_dir))

    def _start_prometheus(self, info: StackInfo) -> None:
        prom = self.run_dir / "prometheus"
        prom.mkdir()
        (prom / "rules.yml").write_text(configs.rules_yml())
        (prom / "prometheus.yml").write_text(configs.prometheus_yml(info.http_port, prom / "rules.yml"))
        procs.start("prometheus", [PROMETHEUS, f"--config.file={prom / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={prom / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{info.prom_port}",
                                   "--storage.tsdb.retention.time=2h", "--log.level=warn"], self.run_dir)
        procs.wait_until(lambda: _http_get(f"{info.prom_url}/-/ready")[0] == 200, 30, "prometheus",
                         abort=lambda: procs.died("prometheus", self.run_dir))

    def _wait_scraped(self, info: StackInfo) -> None:
        def all_up() -> bool:
            return len([r for r in prom_query(info.prom_url, "up == 1")]) == len(info.web) + len(info.workers)

        procs.wait_until(all_up, 30, "prometheus scraping every target")

    def _write_profile(self, info: StackInfo) -> None:
        """The checked-in profiles/drill.toml with this run's addresses, ports and key files."""
        data = tomllib.loads(PROFILE_TEMPLATE.read_text())
        data.setdefault("ssh", {}).update(
            {"config": info.ssh_config, "known_hosts": info.known_hosts, "client_keys": [info.client_key],
             "user": getpass.getuser()})
        data.setdefault("vars", {})["repo"] = str(info.host_dir("web-1"))
        for step in data.get("step", []):
            email = step.get("email")
            if email and not Path(email["template"]).is_absolute():
                email["template"] = str((PROFILE_TEMPLATE.parent / email["template"]).resolve())
        sources = data.get("sources", {})
        for src in sources.values():
            if src.get("kind") == "prometheus":
                src["url"] = info.prom_url
        if "blue" in sources:
            sources["blue"]["url"] = info.url("web-1", "/healthz")
        Path(info.profile).write_text(
            "# Generated by `python -m tests.drill.stack up` from profiles/drill.toml. Do not edit.\n"
            + tomli_w.dumps(data))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.drill.stack", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("up", "down", "status", "redeploy"),
                   help="redeploy: deploy the bad release again on a running stack (practise again)")
    p.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="state, logs and pids (default: %(default)s)")
    args = p.parse_args(argv)
    stack = Stack(args.run_dir)
    if args.action == "up":
        try:
            info = stack.up()
        except StackError as e:
            print(f"drill stack: {e}", file=sys.stderr)
            return 1
        print(f"drill stack up in {info.run_dir}")
        print(f"  prometheus  {info.prom_url}")
        print(f"  web         {info.url('web-1', '/')}  {info.url('web-2', '/')}")
        print(f"  ssh         ssh -F {info.ssh_config} web-1")
        print(f"  profile     {info.profile}")
        print(f"open the cockpit:  cockpit --profile {info.profile}")
        return 0
    if args.action == "down":
        left = stack.down()
        if left:
            print(f"drill stack: processes still alive: {left}", file=sys.stderr)
            return 1
        print("drill stack down")
        return 0
    if not (stack.run_dir / "stack.json").exists():
        print(f"drill stack: nothing in {stack.run_dir}", file=sys.stderr)
        return 1
    if args.action == "redeploy":
        try:
            stack.deploy_bad_release(StackInfo.load(stack.run_dir))
        except (StackError, OSError, subprocess.SubprocessError) as e:
            print(f"drill stack: {e}", file=sys.stderr)
            return 1
        print("bad release deployed again: contract migration applied, OCTANE_ENABLED=true on the web hosts")
        return 0
    print(json.dumps(stack.status(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
