"""`cockpit status` against hostile servers: peak memory and time to exit.

    .venv/bin/python -m tests.bench.bounds [--cap SECONDS]

Runs the real CLI in a subprocess (address space capped at 3.5 GB, killed after
``--cap`` seconds) against a loopback server that answers normally, then endlessly,
then one byte a second, then not at all; both a prometheus and an http (json)
source point at it, with a 2 s timeout. Prints, per server: exit code, wall time,
the child's peak RSS (from wait4). Run it on an older checkout to get the "before"
(``--as-mb`` keeps an unbounded reader from taking the machine's memory).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tests.support.hostile import peak_rss_of, running_hostile

PROFILE = '''
[cockpit]
name = "bounds-bench"
environment = "drill"

[sources.prom]
kind = "prometheus"
url = "{url}"
timeout = "2s"

[sources.blue]
kind = "http"
url = "{url}"
timeout = "2s"

[[signal]]
id = "queues"
source = "prom"
query = "sum(up)"

[[signal]]
id = "lag"
source = "blue"
field = "json:data.result.0.value.1"

[[check]]
signal = "queues"
condition = "< 100"

[[check]]
signal = "lag"
condition = "< 60"
'''


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=30.0, help="kill the child after this many seconds")
    ap.add_argument("--as-mb", type=int, default=3584, help="the child's address-space limit (MB)")
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NO_COLOR": "1"}
    print(f"cockpit status from {repo}, 2 s source timeout, child killed after {args.cap:g} s, "
          f"address space capped at {args.as_mb} MB")
    print(f"{'server':<10} {'exit':>5} {'wall s':>7} {'peak RSS MB':>12}")
    with running_hostile() as srv, tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "bench.toml"
        profile.write_text(PROFILE.format(url=srv.url()))
        for mode in ("ok", "endless", "trickle", "hang"):
            srv.set(mode)
            rc, wall, peak_kib, _ = peak_rss_of(
                [sys.executable, "-m", "cockpit", "status", "--profile", str(profile)],
                timeout=args.cap, env=env, cwd=str(repo), address_space=args.as_mb << 20,
            )
            shown = "killed" if rc == -9 else str(rc)
            print(f"{mode:<10} {shown:>5} {wall:>7.2f} {peak_kib / 1024:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
