"""Output bounds: one endless line per host through a real sshd, and `cockpit report` on the journal.

    .venv/bin/python tests/bench/output_bounds.py [--seconds 3] [--tree PATH]

Starts a real sshd on loopback (web-1, web-2), runs `cockpit run endless` (a command
printing `yes | tr -d '\\n'` for ``--seconds``), then `cockpit report` on its journal,
and prints for each: the peak RSS of the cockpit process (kernel ru_maxrss of the
child), the bytes it printed, and the journal's size; then `cockpit report` on a
journal holding one 60 MB line (what an unbounded cockpit wrote). ``--tree`` runs another
checkout's code (e.g. the commit before the bounds) against the same sshd.
Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.engine.conftest import profile_text  # noqa: E402
from tests.support.sshd import running_sshd  # noqa: E402

HOSTS = {"web-1": "127.0.1.1", "web-2": "127.0.1.2"}
STEP = """
[[step]]
id = "endless"
title = "One endless line per host"
phase = "prepare"
hosts = "web"
confirm = "none"
timeout = "120s"
command = '''timeout SECONDS sh -c "yes | tr -d '\\\\n'"; echo; echo after'''
"""
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)
"""


def measured(tree: Path, env: dict[str, str], out: Path, *args: str) -> tuple[int, int]:
    r = subprocess.run([sys.executable, "-c", MEASURE, str(out), sys.executable, "-m", "cockpit", *args],
                       cwd=tree, env=env, capture_output=True, text=True, check=True)
    kib, code = r.stdout.split()
    return int(kib) // 1024, int(code)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--tree", type=Path, default=ROOT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "XDG_STATE_HOME": str(work / "state"), "PYTHONPATH": str(args.tree)}
        with running_sshd(work / "sshd", HOSTS) as sshd:
            marks = work / "marks"
            marks.mkdir()
            profile = work / "endless.toml"
            profile.write_text(profile_text(ssh=sshd, marker_dir=marks,
                                            steps=STEP.replace("SECONDS", f"{args.seconds:g}")))
            out = work / "run.out"
            rss, code = measured(args.tree, env, out, "run", "endless", "--profile", str(profile))
            journal = next((work / "state" / "cockpit" / "journals").glob("*.jsonl"))
            print(f"tree {args.tree}: endless line for {args.seconds:g}s on 2 hosts")
            print(f"  cockpit run:    exit {code}, peak RSS {rss} MiB, printed {out.stat().st_size} bytes, "
                  f"journal {journal.stat().st_size} bytes")
            rep = work / "report.out"
            rss, code = measured(args.tree, env, rep, "report", str(journal))
            print(f"  cockpit report: exit {code}, peak RSS {rss} MiB, printed {rep.stat().st_size} bytes")
        big = work / "big.jsonl"
        big.write_text("\n".join(json.dumps(e) for e in [
            {"ts": 1.7e9, "type": "session_start", "session": "s", "user": "a", "host": "b", "mode": "driver"},
            {"ts": 1.7e9 + 1, "type": "step_start", "session": "s", "step": "endless", "hosts": ["web-1"]},
            {"ts": 1.7e9 + 2, "type": "step_end", "session": "s", "step": "endless", "state": "ok",
             "hosts": [{"host": "web-1", "tail": ["y" * 60_000_000]}]},
        ]) + "\n")
        rss, code = measured(args.tree, env, rep, "report", str(big))
        print(f"  cockpit report on a journal with a 60 MB line: exit {code}, peak RSS {rss} MiB")


if __name__ == "__main__":
    main()
