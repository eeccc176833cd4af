"""Cost of redaction (every form of every secret, pieces at line edges) against the old
whole-value-only replace, on the secrets of a realistic profile.

    .venv/bin/python -m tests.bench.redact

Prints: forms per secret set, compile time, cost per output line (ordinary and one holding a
secret), throughput on a 1 MB multi-line text (a joined tail, a response body).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cockpit import secrets

SECRETS = [
    "https://hooks.slack.com/services/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",
    "ATATT3xFfGF0jira+tok/en=9d8c7b6a5Z",
    "cab-bot@example.test",
    "postgres://deploy:s3cr3t-Pa55w0rd@db.internal:5432/academy?sslmode=require",
    "prom-bearer-7f6e5d4c3b2a1f0e",
    "smtp-Pa55word!",
]
LINE = "[2024-05-01 12:00:03] production.INFO: Horizon paused; 312 jobs waiting on feed, 0 failed"
SECRET_LINE = "token=Xq7pL2mZ9vR4tW8yK3nB6cD1 sent to https://hooks.slack.com/services/T0AB12CD3/"


def old_redact(text: str, values: list[str]) -> str:
    for s in sorted(set(values), key=len, reverse=True):
        text = text.replace(s, "[redacted]")
    return text


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    start = time.perf_counter()
    r = secrets.Redaction(SECRETS)
    compile_ms = (time.perf_counter() - start) * 1000
    print(f"{len(SECRETS)} secrets -> {len(r.forms)} forms, {len(r.pieces)} piece sources; "
          f"compiled in {compile_ms:.1f} ms (cached per secret set)")
    n = 20000
    for name, line in (("ordinary line", LINE), ("line holding a secret", SECRET_LINE)):
        old = per_call(lambda line=line: old_redact(line, SECRETS), n) * 1e6
        new = per_call(lambda line=line: secrets.redact(line, SECRETS), n) * 1e6
        print(f"{name:<22} old {old:6.2f} µs/line   new {new:6.2f} µs/line")
    text = "\n".join([LINE] * (1_000_000 // (len(LINE) + 1)))
    start = time.perf_counter()
    secrets.redact(text, SECRETS)
    took = time.perf_counter() - start
    print(f"1 MB multi-line text: {took * 1000:.0f} ms ({len(text) / took / 1e6:.1f} MB/s)")


if __name__ == "__main__":
    main()
