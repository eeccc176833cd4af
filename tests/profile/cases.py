"""Broken profiles and the exact ``file:LINE: message`` lines `cockpit check` must print for them.

Each case is the whole file (line numbers matter) and the expected lines, with the file shown as
``p.toml``. ``BASE`` is a small valid profile the cases start from.
"""

from __future__ import annotations

BASE = """\
[cockpit]
name = "t"
environment = "drill"

[hosts]
web = ["h1", "h2"]
console = ["h1"]
empty = []

[vars]
artisan = "php artisan"

[sources.prom]
kind = "prometheus"
url = "http://127.0.0.1:9090"

[[signal]]
id = "queues"
source = "prom"
query = "up"

[[check]]
signal = "queues"
condition = "< 100"

[[step]]
id = "pause"
title = "Pause"
phase = "rollback"
key = "p"
hosts = "web"
command = "{artisan} horizon:pause"
"""


def with_step(extra: str) -> str:
    """BASE plus one more step (its first line is line 34)."""
    return BASE + "\n[[step]]\n" + extra
