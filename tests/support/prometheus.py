"""A real Prometheus (Debian's /usr/bin/prometheus) on loopback, scraping test exporters every second.

Start it once per module or session: it takes about a second to become ready.

    with running_prometheus(tmp, [f"127.0.0.1:{exporter.port}"]) as prom:
        prom.url                       # http://127.0.0.1:PORT
        prom.wait_for('up == 1')       # poll until a query has a result
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.daemon import LoopbackDaemon

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class TestPrometheus(LoopbackDaemon):
    targets: Sequence[str] = ()
    rules: str | None = None  # a rules file's YAML (e.g. the `http_5xx_rate` recording rule)
    scrape_interval: str = "1s"
    scrape_timeout: str = "900ms"
    alertmanagers: Sequence[str] = ()   # host:port of Alertmanagers its alerting rules fire into
    extra_args: Sequence[str] = ()      # e.g. --rules.alert.resend-delay=1s

    __test__ = False
    NAME = "prometheus"

    def start(self) -> TestPrometheus:
        self.workdir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "prometheus.yml"
        rule_files = ""
        if self.rules:
            (self.workdir / "rules.yml").write_text(self.rules)
            rule_files = f"rule_files: [{json.dumps(str(self.workdir / 'rules.yml'))}]\n"
        cfg.write_text(
            f"global:\n  scrape_interval: {self.scrape_interval}\n  scrape_timeout: {self.scrape_timeout}\n"
            f"  evaluation_interval: {self.scrape_interval}\n"
            f"{rule_files}"
            + (f"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: {json.dumps(list(self.alertmanagers))}\n"
               if self.alertmanagers else "")
            + "scrape_configs:\n  - job_name: exporter\n    static_configs:\n"
            f"      - targets: {json.dumps(list(self.targets))}\n"
        )
        self.spawn([
            PROMETHEUS,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={self.workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.choose_port()}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
            *self.extra_args,
        ])
        return self

    def query(self, promql: str) -> list[dict[str, Any]]:
        status, body = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        doc = json.loads(body)
        if status != 200:
            raise RuntimeError(f"{doc.get('errorType')}: {doc.get('error')}")
        return list(doc["data"]["result"])

    def wait_for(self, promql: str, deadline_s: float = 15.0) -> list[dict[str, Any]]:
        """Poll until ``promql`` returns at least one series; return them."""
        end = time.monotonic() + deadline_s
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > end:
                raise TimeoutError(f"no result for {promql!r} after {deadline_s}s")
            time.sleep(0.1)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its port open and answers nothing (a hung Prometheus)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def running_prometheus(
    workdir: Path, targets: Sequence[str], rules: str | None = None
) -> Iterator[TestPrometheus]:
    prom = TestPrometheus(workdir, targets=list(targets), rules=rules).start()
    try:
        yield prom
    finally:
        prom.stop()
