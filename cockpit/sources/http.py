"""HTTP source: probe one URL; the value is its status code, its latency or a number in its JSON body.

``field = "status"`` records whatever status the server answered (a 500 is a
value: the check decides). ``json:PATH`` needs a 2xx JSON answer: anything
else is a failed sample ("HTTP 502", "body is not JSON"). A path ending on an
object of numbers gives one series per key.

Every request goes through `cockpit.bounded.fetch`: the source's ``timeout`` is
the total time of the request, body included, and a body over ``max_bytes`` is
a failed sample. ``status`` and ``latency`` (the time to the status line) return
as soon as the status line arrives and never read the body.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from typing import Any

import httpx

from cockpit.bounded import Unbounded, fetch
from cockpit.durations import format_duration
from cockpit.profile.model import SignalSpec, SourceSpec
from cockpit.secrets import SecretError, redact, resolve
from cockpit.sources.base import (
    Points,
    SourceError,
    Values,
    ca_bundle,
    clean_error,
    shorten,
    spec_secrets,
    to_float,
)


def lookup(doc: Any, path: str) -> Any:
    """``doc`` at a dotted ``path`` (``a.b.0.c``: list items by index)."""
    cur = doc
    for part in path.split(".") if path else []:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise SourceError(f"no {path!r} in the JSON body")
    return cur


def json_values(doc: Any, path: str, scrub: Callable[[str], str] = str) -> Values:
    """Numbers at ``path``: one value (label ``""``), or an object of numbers (one per key).

    ``scrub`` redacts the value quoted in the error before it is cut short.
    """
    found = lookup(doc, path)
    try:
        if isinstance(found, dict):
            return {str(k): to_float(v) for k, v in found.items()}
        return {"": to_float(found)}
    except ValueError:
        raise SourceError(f"{path!r} in the JSON body is not a number: {shorten(scrub(str(found)))}") from None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes/contexts (anyio hides ECONNREFUSED two levels down)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def transport_error(exc: httpx.HTTPError, timeout: float) -> str:
    """A short reason for a transport failure (never the URL: it may hold a secret)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {format_duration(timeout)}"
    text = str(exc)
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY" in text:
            return "TLS error: certificate not trusted (set `ca_bundle`?)"
        if "refused" in text.lower() or any(isinstance(e, ConnectionRefusedError) for e in _chain(exc)):
            return "connection refused"
        if "Name or service not known" in text or "nodename" in text:
            return "cannot resolve the server's name"
        return "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection dropped by the server"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "invalid URL"
    return f"request failed ({type(exc).__name__})"


def source_client(spec: SourceSpec) -> httpx.AsyncClient:
    """The `httpx.AsyncClient` of an HTTP-based source: TLS verified (``ca_bundle``), no redirects
    followed by httpx, the source's ``timeout`` as httpx's per-operation timeouts (the total one
    is `cockpit.bounded.fetch`'s)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(spec.timeout),
        verify=ssl.create_default_context(cafile=bundle) if (bundle := ca_bundle(spec)) else True,
        follow_redirects=False,
    )


class HttpSampler:
    """One per ``kind = "http"`` source: one `httpx.AsyncClient`, TLS verified."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self._client = source_client(spec)

    async def sample(self, signal: SignalSpec) -> Values:
        field = signal.field_
        try:
            url = resolve(self.spec.url or "")
            headers = {k: resolve(v) for k, v in self.spec.headers.items()}
        except SecretError as e:
            raise SourceError(str(e)) from None
        if not url:
            raise SourceError("no `url` set")
        probe = field in ("status", "latency")
        if not probe and not field.startswith("json:"):
            raise SourceError(f"unknown field {field!r} (use status, latency or json:PATH)")
        try:
            resp = await fetch(self._client, "GET", url, headers=headers, deadline=self.spec.timeout,
                               max_bytes=self.spec.max_bytes, read_body=not probe)
        except Unbounded as e:
            raise SourceError(str(e)) from None
        except httpx.HTTPError as e:
            raise clean_error(self.spec, transport_error(e, self.spec.timeout)) from None
        if field == "status":
            return {"": float(resp.status)}
        if field == "latency":
            return {"": resp.latency}
        if field.startswith("json:"):
            if not 200 <= resp.status < 300:
                raise SourceError(f"HTTP {resp.status}")
            try:
                doc = json.loads(resp.body)
            except (ValueError, UnicodeDecodeError):
                # redact before cutting: a secret cut in two is no longer found by the redactor
                body = redact(resp.body.decode(errors="replace"), spec_secrets(self.spec))
                raise clean_error(self.spec, f"body is not JSON: {shorten(body, 40)}") from None
            hidden = spec_secrets(self.spec)
            return json_values(doc, field[len("json:") :], lambda text: redact(text, hidden))
        raise SourceError(f"unknown field {field!r} (use status, latency or json:PATH)")

    async def backfill(self, signal: SignalSpec, now: float) -> Points:
        return {}  # a probe has no history

    async def close(self) -> None:
        await self._client.aclose()
