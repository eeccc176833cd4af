from __future__ import annotations

# The same real services as tests/sources (one Prometheus for this package, scraping one exporter).
from tests.sources.conftest import closed_port, exporter, prom, stub

__all__ = ["closed_port", "exporter", "prom", "stub"]
