"""Steady traffic for the drill: per web host, a paced loop of the app's real requests
(course listing, health check, analytics event that dispatches jobs to the three queues).

Run as its own process by the stack (``python -m tests.drill.loadgen RUN_DIR``); it counts
answers by status into ``RUN_DIR/loadgen.json`` so a human can see what the users see.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

CYCLE = (("GET", "/api/courses"), ("POST", "/api/events"), ("GET", "/healthz"), ("GET", "/api/courses"))
RATE_PER_HOST = 4.0  # requests per second per web host


def _one(addr: str, port: int, method: str, path: str) -> str:
    conn = http.client.HTTPConnection(addr, port, timeout=5)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        resp = conn.getresponse()
        resp.read()
        return str(resp.status)
    except (OSError, http.client.HTTPException) as e:
        return f"error:{type(e).__name__}"
    finally:
        conn.close()


def _drive(addr: str, port: int, counts: Counter[str], lock: threading.Lock, stop: threading.Event) -> None:
    period = 1.0 / RATE_PER_HOST
    next_at = time.monotonic()
    i = 0
    while not stop.is_set():
        method, path = CYCLE[i % len(CYCLE)]
        status = _one(addr, port, method, path)
        with lock:
            counts[status] += 1
        i += 1
        next_at += period
        stop.wait(max(0.0, next_at - time.monotonic()))


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    info = json.loads((run_dir / "stack.json").read_text())
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    for host in info["web"]:
        threading.Thread(
            target=_drive, args=(info["addresses"][host], info["http_port"], counts, lock, stop), daemon=True
        ).start()
    out = run_dir / "loadgen.json"
    try:
        while True:
            time.sleep(1.0)
            with lock:
                snapshot = dict(counts)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(snapshot))
            tmp.replace(out)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
