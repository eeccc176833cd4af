"""Real parts for the integration tests: Debian's Alertmanager fed by a real Prometheus whose
alerting rules fire at once, and a local receiver checking Grafana's annotation API shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integrations.grafana_receiver import GrafanaReceiver
from tests.support.alertmanager import TestAlertmanager, poll, running_alertmanager
from tests.support.poll import until as apoll  # noqa: F401 (re-exported to the tests here)
from tests.support.prometheus import TestPrometheus

# the alerts the Academy runbook knows its rollback triggers, and one it does not (DiskFull: still pages)
RULES = """
groups:
  - name: rollback
    interval: 1s
    rules:
      - alert: HorizonPaused
        expr: vector(1)
        for: 0s
        labels: {env: drill, severity: page}
      - alert: OctaneDown
        expr: vector(1)
        for: 0s
        labels: {env: drill, severity: page}
      - alert: DiskFull
        expr: vector(1)
        for: 0s
        labels: {env: drill, severity: page}
"""

GRAFANA_TOKEN = "glsa_w15TestToken_8c1d2e3f4a5b6c7d"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestAlertmanager]:
    """Alertmanager with HorizonPaused, OctaneDown and DiskFull firing into it from a real Prometheus."""
    with running_alertmanager(tmp_path_factory.mktemp("am")) as am:
        # alerts fired before the notifier discovers the Alertmanager are dropped, then re-sent only after
        # the resend delay (1m by default): 1s makes them arrive at once, and keeps them active
        prom = TestPrometheus(tmp_path_factory.mktemp("prom"), targets=[am.address], rules=RULES, alertmanagers=[am.address],
                              extra_args=["--rules.alert.resend-delay=1s"])
        prom.start()
        try:
            poll(lambda: {a["labels"]["alertname"] for a in am.alerts()} >= {"HorizonPaused", "OctaneDown",
                                                                              "DiskFull"},
                 timeout=30, what="the alerts to fire into Alertmanager")
            yield am
        finally:
            prom.stop()


@pytest.fixture
def am(alertmanager: TestAlertmanager) -> Iterator[TestAlertmanager]:
    """The module's Alertmanager, with every silence a test left expired afterwards."""
    yield alertmanager
    for s in alertmanager.silences():
        if s["status"]["state"] != "expired":
            alertmanager.expire(s["id"])


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaReceiver]:
    monkeypatch.setenv("GRAFANA_TOKEN", GRAFANA_TOKEN)
    rec = GrafanaReceiver(GRAFANA_TOKEN).start()
    yield rec
    rec.stop()


def write_profile(tmp_path: Path, text: str, name: str = "profile.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
