"""The boundaries of docs/architecture.md, as tests that fail when someone crosses them.

import-linter checks the static imports of the modules listed in pyproject.toml; this
test covers what a list can miss: EVERY engine module, found by walking the package,
imported for real in a fresh interpreter.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import cockpit

NOT_ENGINE = ("cockpit.tui", "cockpit.__main__")  # __main__ runs the CLI when imported


def engine_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(cockpit.__path__, "cockpit.")]
    return sorted(n for n in names if not n.startswith(NOT_ENGINE))


def test_the_engine_never_imports_textual() -> None:
    modules = engine_modules()
    assert "cockpit.controller" in modules and "cockpit.commands.run" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'widgets', 'plotext')"
        " or m.startswith('cockpit.tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine modules pulled in UI modules: {out.stdout.strip()}"


def test_headless_commands_do_not_load_the_ui() -> None:
    """`cockpit check` and friends never pay for Textual."""
    code = (
        "import sys\n"
        "from cockpit.cli import main\n"
        "try:\n    main(['check', 'academy'])\nexcept SystemExit:\n    pass\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_widgets_do_no_io() -> None:
    import widgets

    names = [m.name for m in pkgutil.walk_packages(widgets.__path__, "widgets.")]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(sorted(m for m in ('asyncssh', 'httpx', 'prometheus_api_client', 'cockpit.runner',"
        " 'cockpit.journal', 'cockpit.controller', 'cockpit.sources') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"widgets pulled in I/O modules: {out.stdout.strip()}"
