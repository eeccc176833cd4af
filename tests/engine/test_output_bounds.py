"""#11.5: endless output is bounded where it is read: one endless line per host, through a real sshd.

`cockpit run` fires a step whose command prints an endless line (`yes | tr -d '\\n'`,
stopped after 3 s) on two hosts. Each line is cut at MAX_LINE characters as it is
read and marked "(truncated)"; the journal stays small and so does the memory of the
cockpit process (its peak RSS, measured by the kernel for the child).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cockpit.journal import journals_of, read_journal
from cockpit.output import MAX_LINE, TRUNCATED
from cockpit.profile.load import load_profile
from tests.engine.conftest import REPO, profile_text

STEPS = """
[[step]]
id = "endless"
title = "One endless line per host"
phase = "prepare"
hosts = "web"
confirm = "none"
timeout = "60s"
command = '''timeout 3 sh -c "yes | tr -d '\\\\n'"; echo; echo after'''
"""

# peak RSS of the child, in KiB, from the kernel (ru_maxrss of the waited-for child)
MEASURE = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)
"""


def peak_rss(out: Path, *args: str) -> tuple[int, int]:
    """(peak RSS in MiB, exit code) of ``cockpit *args``, its output in ``out``."""
    r = subprocess.run([sys.executable, "-c", MEASURE, str(out), sys.executable, "-m", "cockpit", *args],
                       cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    kib, code = r.stdout.split()
    return int(kib) // 1024, int(code)


def test_an_endless_line_per_host_is_cut_as_it_is_read(sshd, tmp_path: Path, marker_dir: Path) -> None:
    path = tmp_path / "endless.toml"
    path.write_text(profile_text(ssh=sshd, marker_dir=marker_dir, steps=STEPS))
    profile = load_profile(path)
    out = tmp_path / "out.txt"
    rss, code = peak_rss(out, "run", "endless", "--profile", str(path))
    text = out.read_text()
    assert code == 0, text[-2000:]
    cut = "y" * MAX_LINE + TRUNCATED
    for host in ("web-1", "web-2"):
        assert f"{host} | {cut}\n" in text
        assert f"{host} | after\n" in text
    assert len(text) < 64 * 1024, f"{len(text)} bytes on stdout"
    journal = journals_of(profile)[0]
    assert journal.stat().st_size < 64 * 1024, f"journal of {journal.stat().st_size} bytes"
    end = next(e for e in read_journal(journal) if e["type"] == "step_end")
    assert [h["tail"] for h in end["hosts"]] == [[cut, "after"]] * 2   # the newline ends the cut line
    print(f"peak RSS of cockpit run: {rss} MiB; journal {journal.stat().st_size} bytes")
    assert rss < 150, f"peak RSS of cockpit run: {rss} MiB"
