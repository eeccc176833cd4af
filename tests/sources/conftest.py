from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.exporter import Exporter, running_exporter
from tests.support.httpstub import HttpStub, running_stub
from tests.support.prometheus import TestPrometheus, running_prometheus


@pytest.fixture(scope="package")
def exporter() -> Iterator[Exporter]:
    with running_exporter() as exp:
        yield exp


@pytest.fixture(scope="package")
def prom(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestPrometheus]:
    """One real Prometheus for the package, scraping ``exporter`` every second."""
    exporter.set("cockpit_test_up", 1)
    rules = (
        "groups:\n  - name: cockpit-test\n    rules:\n"
        "      - record: cockpit_test_up_doubled\n        expr: cockpit_test_up * 2\n"
    )
    with running_prometheus(tmp_path_factory.mktemp("prom"), [f"127.0.0.1:{exporter.port}"], rules) as p:
        p.wait_for('cockpit_test_up{job="exporter"}')
        yield p


@pytest.fixture
def stub() -> Iterator[HttpStub]:
    with running_stub() as s:
        yield s


@pytest.fixture
def closed_port() -> int:
    from tests.support.sshd import free_port

    return free_port()


