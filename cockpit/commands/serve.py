"""``cockpit serve --profile P [--port N] [--host ADDR] [--max-visitors N] [--idle-timeout S]``.

Serves the read-only observer screen to browsers (`cockpit.serve`): one process per
visitor following the driver's published feed. Binds 127.0.0.1 unless ``--host``
says otherwise (a loud warning for any other address). Prints the one URL with its
access token on stdout, and nothing else there; what happens (visitors joining and
leaving, refusals) goes to stderr without the token. Runs until Ctrl-C / SIGTERM.

Exit codes: 0 stopped by a signal; 1 cannot bind; 2 bad options or profile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys

from cockpit.exitcodes import Exit


def _err(msg: str) -> None:
    print(f"cockpit serve: {msg}", file=sys.stderr, flush=True)


def problems(args: argparse.Namespace) -> list[str]:
    out = []
    if not 0 <= args.port <= 65535:
        out.append(f"--port must be between 0 and 65535 (got {args.port})")
    if not args.max_visitors >= 1:
        out.append(f"--max-visitors must be at least 1 (got {args.max_visitors})")
    if not args.idle_timeout > 0:
        out.append(f"--idle-timeout must be a positive number of seconds (got {args.idle_timeout})")
    if not args.host.strip():
        out.append("--host is empty: give an address to bind (default 127.0.0.1)")
    return out


def exposure_warning(host: str) -> list[str]:
    """The loud lines for an address that is not loopback (none for loopback)."""
    from cockpit.serve import is_loopback

    if is_loopback(host):
        return []
    return [
        "!" * 78,
        f"WARNING: serving on {host}, not on loopback: anyone who can reach this address and",
        "port and has the URL watches the incident. The token is the only gate and the traffic is",
        "plain HTTP (not encrypted). Prefer the default 127.0.0.1 and `ssh -L` from the laptop.",
        "!" * 78,
    ]


async def _serve(args: argparse.Namespace, profile_path: str, title: str, visits: object) -> int:
    from cockpit.serve import CockpitServer, ServeOptions, url_for
    from cockpit.serve_visits import VisitLog
    from cockpit.state import whoami

    user, host = whoami()
    # exec: the visitor's process is the app itself (no shell between: a kill reaches it)
    command = "exec " + shlex.join([sys.executable, "-m", "cockpit.tui.served", "--profile", profile_path])
    opts = ServeOptions(command=command, title=title, host=args.host, port=args.port,
                        max_visitors=args.max_visitors, idle_timeout=args.idle_timeout, by=f"{user}@{host}")
    server = CockpitServer(opts, visits if isinstance(visits, VisitLog) else None)
    try:
        port = await server.start()
    except OSError as e:
        _err(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
        return Exit.FAILED
    for line in exposure_warning(args.host):
        print(line, file=sys.stderr, flush=True)
    print(url_for(args.host, port, opts.token), flush=True)
    sys.stdout = sys.stderr    # the URL is the one line on stdout (textual-serve echoes a visitor's errors there)
    _err(f"serving {title} on {args.host}:{port}; at most {opts.max_visitors} visitors, idle ones "
         f"disconnected after {opts.idle_timeout:g}s. From a laptop: ssh -L {port}:127.0.0.1:{port} THIS-BASTION, "
         "then open the URL above. Ctrl-C stops.")
    await server.run_until_signalled()
    _err("stopped")
    return Exit.OK


def main(args: argparse.Namespace) -> int:
    from cockpit.commands.profile_arg import open_profile

    wrong = problems(args)
    if wrong:
        for w in wrong:
            _err(w)
        return Exit.USAGE
    profile = open_profile(args.profile, "cockpit serve")
    if profile is None:
        return Exit.USAGE
    from cockpit.serve_visits import VisitLog
    from cockpit.state import StateError, profile_key, state_for

    try:
        visits = VisitLog(state_for(profile), profile_key(profile))
    except (StateError, OSError) as e:
        _err(f"cannot record visits in the state directory: {e}")
        return Exit.FAILED
    try:
        title = f"cockpit · {profile.cockpit.name} ({profile.cockpit.environment}) · read-only"
        return asyncio.run(_serve(args, os.path.abspath(profile.path), title, visits))
    finally:
        visits.close()
