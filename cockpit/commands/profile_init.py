"""``cockpit profile init [PATH] [--force]``: write a starter profile that ``cockpit check`` accepts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cockpit.exitcodes import Exit
from cockpit.profile.starter import starter_text


def main(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_dir():
        print(f"cockpit profile init: {path} is a directory", file=sys.stderr)
        return Exit.USAGE
    if path.exists() and not args.force:
        print(f"cockpit profile init: {path} exists; use --force to overwrite it", file=sys.stderr)
        return Exit.FAILED
    text = starter_text()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        print(f"cockpit profile init: cannot write {path}: {e.strerror or e}", file=sys.stderr)
        return Exit.FAILED
    print(f"wrote {path}; check it with: cockpit check {path}")
    return Exit.OK
