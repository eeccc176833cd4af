"""The pages of ``cockpit serve``: the cockpit page (textual-serve's terminal) and the refusals.

The cockpit page is textual-serve's own (its ``textual.js`` and ``xterm.css``),
without the web font it fetches from Google (a visitor's browser asks nothing of
a third party) and with two changes: the websocket address is taken from the
address the browser used (so ``ssh -L 9000:127.0.0.1:8000`` works on any local
port), and the token is taken out of the address bar once the page has loaded (a
shared screen does not show it; the page's cookie carries it from then on).
"""

from __future__ import annotations

import html

# the background of the cockpit's default theme (nord): the strip xterm leaves around its cells
# at the window's edge matches the screen (this module cannot ask Textual: the engine never imports it)
BACKGROUND = "#2e3440"

CLOSED_WHY = ("the session ended: the visit was idle too long, the server stopped, or the "
              "cockpit screen was closed. Reload the page to watch again.")


def cockpit_page(title: str, font_size: int = 14) -> str:
    t = html.escape(title)
    return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{t}</title>
    <link rel="stylesheet" href="/static/css/xterm.css" />
    <script src="/static/js/textual.js"></script>
    <style>
      html, body {{ margin: 0; height: 100%; background: {BACKGROUND}; }}
      body {{ font-family: monospace; color: #e0e0e0; }}
      #terminal {{ position: absolute; inset: 0; }}
      .closed {{ display: none; position: absolute; inset: 0; z-index: 20; align-items: center;
                justify-content: center; background: rgba(46, 52, 64, 0.9); }}
      body.-closed .closed {{ display: flex; }}
      .closed div {{ max-width: 40em; padding: 2em; background: #3b4252; font-size: 16px; line-height: 1.5; }}
      body .textual-terminal {{ opacity: 0; }}
      body.-first-byte .textual-terminal {{ opacity: 1; }}
    </style>
  </head>
  <body>
    <div class="closed" id="closed"><div>{html.escape(CLOSED_WHY)}</div></div>
    <div id="terminal" class="textual-terminal" data-session-websocket-url="" data-font-size="{int(font_size)}"></div>
    <script>
      (function () {{
        var ws = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
        document.getElementById("terminal").dataset.sessionWebsocketUrl = ws;
        if (location.search.indexOf("token=") >= 0) {{
          var params = new URLSearchParams(location.search);
          params.delete("token");
          var rest = params.toString();
          history.replaceState(null, "", location.pathname + (rest ? "?" + rest : ""));
        }}
      }})();
    </script>
  </body>
</html>
"""


def _page(title: str, text: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ background: {BACKGROUND}; color: #e0e0e0; font: 16px/1.5 monospace; padding: 3em; }}</style>
</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>
"""


def forbidden_page() -> str:
    return _page("cockpit serve: access refused",
                 "This address needs the access token printed by `cockpit serve` (the whole URL, "
                 "with ?token=...). Ask the person who started it.")


def full_page(watching: int, cap: int) -> str:
    return _page("cockpit serve: too many visitors",
                 f"{watching} visitor{'s are' if watching != 1 else ' is'} already watching and the limit is "
                 f"{cap} (each visitor is a process on the bastion). Try again in a moment, or watch "
                 "with someone who already is.")
