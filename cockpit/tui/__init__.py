"""The Textual app: the ONLY part of ``cockpit`` that imports Textual.

Import ``cockpit.tui.launch.run_tui`` to open it; the modules here are light
so the first screen draws fast.
"""
