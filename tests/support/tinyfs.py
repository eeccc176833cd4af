"""A real disk-full: a tiny tmpfs mounted where the journals go (the tests run as root).

`TinyFs.fill` writes a filler file until the kernel answers ENOSPC; `TinyFs.free`
removes it. A write larger than what is left of the journal's last page is then
written in part, and the next one fails: the partial-write-then-ENOSPC case.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


class TinyFs:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / ".filler"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str = "64k") -> Iterator[TinyFs]:
    """Mount a tmpfs of ``size`` on ``path`` (created), mode 0700; unmounted on exit."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield TinyFs(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
