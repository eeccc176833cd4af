"""The one HTTP client policy of the HTTP step kinds (slack, jira, silence, annotate): timeouts, retry, failure reasons.

Retry policy (the same for every HTTP kind):

* at most ONE retry, after a short backoff (``BACKOFF`` seconds);
* only when the request provably never reached the application: the TCP/TLS
  connection could not be opened (connection refused, DNS failure, connect
  timeout), or the server answered ``503 Service Unavailable`` (a refusal to
  process, e.g. a load balancer with no backend);
* never on a 4xx (the request is wrong or not allowed: retrying cannot help);
* never on 500/502/504, a read timeout or a connection dropped after the request
  was sent: the message may have been posted already, and a blind retry would
  post it twice in Slack or Jira. The failure reason says so, so the operator
  checks the channel or the issue before firing the step again.

The step's ``timeout`` is TOTAL: both attempts, the backoff between them, and
each answer read in full, all within it (`cockpit.bounded.fetch`; per-read
timeouts would let a webhook trickling a byte a second hold the step for ever).
An answer over ``MAX_ANSWER`` is dropped as it arrives. TLS is always verified.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from cockpit.bounded import DEFAULT_MAX_BYTES, TooBig, TooSlow, Unbounded, fetch
from cockpit.steps.base import StepFailure

BACKOFF = 0.5
MAX_ANSWER = DEFAULT_MAX_BYTES  # Slack answers "ok", Jira a small JSON: anything near this is hostile
CONNECT_TIMEOUT = 5.0
_BODY_LIMIT = 500
_DNS_MARKERS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
                "no address associated", "name resolution", "getaddrinfo failed")

_STATUS_HINTS = {
    400: "bad request",
    401: "unauthorized: the credentials were refused",
    403: "forbidden: the credentials may not do this",
    404: "not found",
    405: "method not allowed (is the URL right?)",
    410: "gone",
    413: "payload too large",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    json: Any
    attempts: int


def origin(url: str) -> str:
    """``scheme://host:port`` only: what may be shown of a URL whose path is a secret."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "(no host in URL)"


def timeouts(read: float) -> httpx.Timeout:
    return httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, read))


def status_reason(status: int) -> str:
    return f"HTTP {status} {_STATUS_HINTS.get(status, '')}".rstrip()


def body_excerpt(text: str, scrub: Callable[[str], str] = str) -> str:
    """The body on one line, cut to a readable length; ``scrub`` redacts it first (a secret
    cut in two would no longer be found by the redactor)."""
    text = " ".join(scrub(text).split())
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "…"


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 10:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _connect_reason(exc: httpx.TransportError, target: str) -> str:
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect to {target}: no answer to the connection attempt (timeout)"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(m in text for m in _DNS_MARKERS):
        return f"could not connect to {target}: DNS lookup of the host name failed"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return f"could not connect to {target}: connection refused"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return f"could not connect to {target}: TLS handshake failed ({exc})"
    return f"could not connect to {target}: {exc or type(exc).__name__}"


def _unbounded(exc: Unbounded, target: str, timeout: float, attempt: int) -> StepFailure:
    """A broken bound as a step failure; a request that may have been received is never re-sent."""
    check = "; the request was sent, so it may have been processed: check before firing again"
    if isinstance(exc, TooSlow) and not exc.sent:
        return StepFailure(f"could not connect to {target}: no connection within {timeout:g}s",
                           {"attempts": attempt})
    if isinstance(exc, TooSlow) and exc.status is None:
        reason = f"{target} gave no answer within {timeout:g}s"
    elif isinstance(exc, TooSlow):
        reason = f"{target} gave no full answer within {timeout:g}s (HTTP {exc.status}, answer still arriving)"
    elif isinstance(exc, TooBig):
        reason = f"{target} sent an answer over {str(exc).removeprefix('answer over ')} (HTTP {exc.status}, not read)"
    else:
        reason = f"{target}: {exc}"
    return StepFailure(reason + check, {"attempts": attempt})


async def post(url: str, **kw: Any) -> Answer:
    """POST with the policy above (see `request`)."""
    return await request("POST", url, **kw)


async def request(
    method: str,
    url: str,
    *,
    target: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    json: Any = None,
    files: Callable[[], list[tuple[str, tuple[str, bytes, str]]]] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Answer:
    """``method`` with the policy above; returns any HTTP answer, raises StepFailure when none came.

    ``target`` is how the server is named in messages (never the full URL: it may be secret).
    ``files`` builds the multipart parts afresh for each attempt. ``timeout`` bounds the whole call.
    """
    end = time.monotonic() + timeout
    last: StepFailure | None = None
    tried = 0
    for attempt in (1, 2):
        if attempt == 2:
            if end - time.monotonic() <= BACKOFF:  # no time left for a second try
                break
            await asyncio.sleep(BACKOFF)
        tried = attempt
        left = end - time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=timeouts(left), verify=verify, follow_redirects=False) as c:
                resp = await fetch(c, method, url, deadline=left, max_bytes=MAX_ANSWER, headers=headers,
                                   json=json, files=files() if files else None)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = StepFailure(_connect_reason(exc, target), {"attempts": attempt})
            continue
        except Unbounded as exc:
            raise _unbounded(exc, target, timeout, attempt) from None
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
            raise StepFailure(
                f"{target} gave no answer within {timeout:g}s; the request was sent, so it may have been "
                "processed: check before firing again",
                {"attempts": attempt},
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise StepFailure(
                f"{target} closed the connection without a valid answer ({type(exc).__name__}); "
                "it may have processed the request: check before firing again",
                {"attempts": attempt},
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise StepFailure(f"the URL of {target} is not a valid http(s) URL") from None
        except httpx.HTTPError as exc:
            raise StepFailure(f"request to {target} failed: {type(exc).__name__}: {exc}",
                              {"attempts": attempt}) from None
        if resp.status == 503 and attempt == 1:
            last = StepFailure(f"{target} answered {status_reason(503)}", {"attempts": attempt})
            continue
        try:
            parsed: Any = jsonlib.loads(resp.body)
        except ValueError:
            parsed = None
        return Answer(resp.status, resp.body.decode(errors="replace"), parsed, attempt)
    assert last is not None
    last.detail["attempts"] = tried
    raise last
