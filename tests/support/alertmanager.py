"""A real Alertmanager (Debian's prometheus-alertmanager 0.25) on loopback.

Clustering off (``--cluster.listen-address=`` empty), a temporary storage directory,
a random free port, a route to a receiver that sends nothing:

    with running_alertmanager(tmp) as am:
        am.url                         # http://127.0.0.1:PORT
        am.alerts()                    # GET /api/v2/alerts (every active alert, with its status)
        am.silence(sid)                # GET /api/v2/silence/{id}
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.daemon import LoopbackDaemon
from tests.support.poll import wait_until as poll  # noqa: F401 (re-exported to the tests here)

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
CONFIG = 'route: {receiver: "null", group_wait: 1s, group_interval: 1s}\nreceivers: [{name: "null"}]\n'


@dataclass
class TestAlertmanager(LoopbackDaemon):
    __test__ = False
    NAME = "alertmanager"

    def start(self) -> TestAlertmanager:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "am.yml").write_text(CONFIG)
        self.spawn([ALERTMANAGER, f"--config.file={self.workdir / 'am.yml'}", f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.choose_port()}", "--cluster.listen-address=",
                    "--log.level=warn"])
        return self

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw) if raw.strip() else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode(params)
        status, doc = self.request("GET", "/api/v2/alerts" + (f"?{query}" if query else ""))
        assert status == 200, doc
        return list(doc)

    def alert(self, name: str) -> dict[str, Any] | None:
        return next((a for a in self.alerts() if a["labels"].get("alertname") == name), None)

    def silence(self, silence_id: str) -> dict[str, Any] | None:
        status, doc = self.request("GET", f"/api/v2/silence/{silence_id}")
        return doc if status == 200 else None

    def silences(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v2/silences")[1])

    def expire(self, silence_id: str) -> None:
        assert self.request("DELETE", f"/api/v2/silence/{silence_id}")[0] == 200


@contextlib.contextmanager
def running_alertmanager(workdir: Path) -> Iterator[TestAlertmanager]:
    am = TestAlertmanager(workdir).start()
    try:
        yield am
    finally:
        am.stop()


