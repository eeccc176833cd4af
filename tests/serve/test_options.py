"""#17: `cockpit serve` is safe by default: loopback only unless told, loud otherwise; clear errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from cockpit.commands.serve import exposure_warning
from cockpit.serve import is_loopback, url_for
from tests.serve.conftest import REPO, Served, Stage


def test_loopback_is_told_apart() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost"):
        assert is_loopback(host) and exposure_warning(host) == [], host
    for host in ("0.0.0.0", "::", "10.0.0.5", "bastion.example"):
        assert not is_loopback(host), host
        warning = "\n".join(exposure_warning(host))
        assert "WARNING" in warning and host in warning and "ssh -L" in warning
    assert url_for("::1", 8000, "T") == "http://[::1]:8000/?token=T"


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} writes them) listening on ``port``."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            addr, hexport = parts[1].split(":")
            if int(hexport, 16) == port and parts[3] == "0A":    # 0A: LISTEN
                out.append(addr)
    return out


def test_by_default_it_listens_on_127_0_0_1_only(serve_factory: Any) -> None:
    served: Served = serve_factory()
    port = int(served.base.rsplit(":", 1)[1].strip("/"))
    assert _listening(port) == ["0100007F"]            # 127.0.0.1, nothing else (no 0.0.0.0, no ::)
    assert "WARNING" not in served.stderr_text()


def test_a_port_in_use_is_a_clear_error(stage: Stage) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "cockpit", "serve", "--profile", str(stage.profile),
                            "--port", str(port)], capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""                               # no URL printed for a server that is not there
