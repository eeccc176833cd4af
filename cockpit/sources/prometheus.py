"""Prometheus source: an instant query per interval, one range query at start (backfill).

Uses prometheus-api-client's `PrometheusConnect` for the API (URLs, parameters,
``data.result``, its errors), with cockpit's own transport underneath:

- its `requests.Session` has one adapter, `BoundedAdapter`, mounted for every
  URL: each request is fetched by `cockpit.bounded.fetch` on the event loop
  (httpx, TLS verified), so the source's ``timeout`` is the TOTAL time of one
  call (redirects included) and an answer over ``max_bytes`` is dropped as it
  arrives. requests' own transport (urllib3) is never used: its timeouts are
  per read (a server trickling a byte a second never times out) and it reads
  any body whole. No retries behind the caller's back (the library's default
  retries a 503 three times with backoff, about 21 s);
- the library's calls block, so each runs in its own daemon thread, which only
  waits for the loop's bounded fetch: it never outlives the deadline, closing
  the source cancels the fetches it waits for, and exit never joins it;
- its errors carry Prometheus's JSON body only as ``repr(bytes)`` inside the
  message, so `prom_error` digs out Prometheus's own ``errorType: error``.

Headers (which may hold ``${env:…}``) are resolved by a requests auth hook as
each request is built, so the secret values are never stored on the client.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import datetime as dt
import json
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from cockpit.bounded import Answer, TooSlow, Unbounded, fetch, in_daemon_thread
from cockpit.durations import format_duration
from cockpit.freshness import Sample, source_max_age
from cockpit.profile.model import SignalSpec, SourceSpec
from cockpit.secrets import SecretError, resolve
from cockpit.series import clock
from cockpit.sources import promql
from cockpit.sources.base import Points, SourceError, Values, clean_error, name_series, to_float
from cockpit.sources.http import source_client, transport_error

T = TypeVar("T")
_STATUS = re.compile(r"HTTP Status Code (\d+) \((b(['\"]).*\3)\)\s*$", re.S)
MAX_POINTS = 11000  # Prometheus refuses range queries of more points per series
_call_deadline = threading.local()  # .at: monotonic deadline of the library call running in this thread


class _Closed(Exception):
    """The source was closed while a request was in flight."""


class BoundedAdapter(requests.adapters.BaseAdapter):
    """requests transport of a Prometheus source: each request is `cockpit.bounded.fetch`ed on the
    source's event loop; the calling (worker) thread only waits, never past the call's deadline."""

    def __init__(self, spec: SourceSpec, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.spec = spec
        self.loop = loop
        self._loop_thread = threading.get_ident()  # built in the loop's thread (by `_connect`)
        self.client = source_client(spec)
        self._pending: set[concurrent.futures.Future[Answer]] = set()
        self._lock = threading.Lock()
        self._closed = False

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,  # noqa: PLR0917  (requests calls it so)
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        if threading.get_ident() == self._loop_thread:  # waiting here would block the loop that fetches
            raise RuntimeError("PrometheusConnect called on the event loop: go through PrometheusSampler._call")
        total = self.spec.timeout
        at = getattr(_call_deadline, "at", None) or time.monotonic() + total
        left = at - time.monotonic()
        if left <= 0:
            raise TooSlow(total, False, None, 0)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "accept-encoding")}
        # requests types header values as str | bytes; httpx takes either at run time, its annotation not
        coro = fetch(self.client, request.method or "GET", request.url or "", deadline=left,
                     max_bytes=self.spec.max_bytes, headers=headers,  # type: ignore[arg-type]
                     content=request.body)
        with self._lock:
            if self._closed:
                coro.close()
                raise _Closed
            fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
            self._pending.add(fut)
        try:
            answer = fut.result(timeout=left + 1.0)
        except concurrent.futures.CancelledError:
            raise _Closed from None
        except concurrent.futures.TimeoutError:  # the loop is gone or stuck: give up waiting for it
            fut.cancel()
            raise TooSlow(total, True, None, 0) from None
        except TooSlow as e:  # said with the call's whole timeout, not what was left of it
            raise TooSlow(total, e.sent, e.status, e.received) from None
        finally:
            with self._lock:
                self._pending.discard(fut)
        resp = requests.Response()
        resp.status_code = answer.status
        resp.reason = answer.reason
        resp.headers = CaseInsensitiveDict(
            {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
        )
        resp._content = answer.body
        resp._content_consumed = True
        resp.encoding = get_encoding_from_headers(resp.headers)
        resp.url = request.url or ""
        resp.request = request
        return resp

    async def aclose(self) -> None:
        """Cancel the fetches in flight (their threads wake at once) and close the client."""
        with self._lock:
            self._closed = True
            pending, self._pending = list(self._pending), set()
        for fut in pending:
            fut.cancel()
        await self.client.aclose()

    def close(self) -> None:  # requests' Session.close(); the real closing is `aclose`
        pass


class _ResolvedHeaders(requests.auth.AuthBase):
    """Adds the source's headers, resolving ``${env:…}`` only when the request is built."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        for k, v in self._headers.items():
            r.headers[k] = resolve(v)
        return r


def prom_error(exc: PrometheusApiClientException) -> str:
    """Prometheus's own ``errorType: error`` from the client's exception, else ``HTTP <status>``."""
    text = str(exc)
    m = _STATUS.search(text)
    if not m:
        return text[:200]
    status = m.group(1)
    try:
        body = ast.literal_eval(m.group(2))
        doc = json.loads(body)
        return f"{doc['errorType']}: {doc['error']}"
    except (ValueError, SyntaxError, TypeError, KeyError):
        return f"HTTP {status}"


def connection_error(exc: requests.RequestException, timeout: float) -> str:
    """A short reason for a requests error (never its text: it holds the full URL)."""
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
        return f"no answer within {format_duration(timeout)}"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error: certificate not trusted (set `ca_bundle`?)" if "CERTIFICATE_VERIFY" in str(
            exc
        ) else "TLS error"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolutionError" in text or "nodename nor" in text:
        return "cannot resolve the server's name"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset by peer" in text:
        return "connection dropped by the server"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL"
    return f"connection failed ({type(exc).__name__})"


def series_values(signal: SignalSpec, result: Any) -> Values:
    """``data.result`` of an instant query as label -> value."""
    if isinstance(result, list) and len(result) == 2 and isinstance(result[0], int | float):
        try:
            return {"": to_float(result[1])}  # scalar result
        except ValueError:
            raise SourceError("unexpected answer from Prometheus (not a number)") from None
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise SourceError("unexpected answer from Prometheus (not a vector)")
    names = name_series(signal, (r.get("metric", {}) for r in result))
    try:
        return {n: to_float(r["value"][1]) for n, r in zip(names, result, strict=True)}
    except (KeyError, IndexError, TypeError, ValueError):
        raise SourceError("unexpected answer from Prometheus (bad sample value)") from None


def series_points(signal: SignalSpec, result: Any) -> Points:
    """``data.result`` of a range query as label -> [(ts, value), ...]."""
    if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
        raise SourceError("unexpected answer from Prometheus (not a matrix)")
    names = name_series(signal, (r.get("metric", {}) for r in result))
    try:
        return {
            n: [(float(ts), to_float(v)) for ts, v in r["values"]] for n, r in zip(names, result, strict=True)
        }
    except (KeyError, IndexError, TypeError, ValueError):
        raise SourceError("unexpected answer from Prometheus (bad sample value)") from None


class PrometheusSampler:
    """One per ``kind = "prometheus"`` source."""

    def __init__(self, spec: SourceSpec, step: float = 5.0) -> None:
        self.spec = spec
        self.step = step
        self._client: PrometheusConnect | None = None
        self._adapter: BoundedAdapter | None = None
        self._plain: set[str] = set()  # signals whose query cannot be wrapped (scalar results)
        self._down_since: dict[str, float] = {}  # target -> when it was first seen down (local clock)
        self.queries = 0  # round trips made by `sample` (the benchmark reads it)

    def _connect(self) -> PrometheusConnect:
        if self._client is None:
            if not self.spec.url:
                raise SourceError("no `url` set")
            session = requests.Session()
            session.auth = _ResolvedHeaders(dict(self.spec.headers))
            session.max_redirects = 3
            url = resolve(self.spec.url).rstrip("/")
            # the library annotates timeout as int; requests (which it hands it to) takes a float
            client = PrometheusConnect(url=url, session=session, timeout=self.spec.timeout)  # type: ignore[arg-type]
            adapter = BoundedAdapter(self.spec, asyncio.get_running_loop())
            session.adapters.clear()  # drop requests' and the library's urllib3 adapters: ours for every URL
            for prefix in ("https://", "http://"):
                session.mount(prefix, adapter)
            self._client, self._adapter = client, adapter
        return self._client

    async def _call(self, fn: Callable[[PrometheusConnect], T]) -> T:
        timeout = self.spec.timeout
        try:
            client = self._connect()

            def job() -> T:
                _call_deadline.at = time.monotonic() + timeout
                return fn(client)

            # the adapter ends every call by its deadline; this backstop only guards the loop itself
            return await asyncio.wait_for(in_daemon_thread(job, f"prom-{self.spec.id}"), timeout + 2.0)
        except Unbounded as e:
            raise SourceError(str(e)) from None
        except TimeoutError:
            raise SourceError(f"no answer within {format_duration(timeout)}") from None
        except _Closed:
            raise SourceError("source closed") from None
        except SecretError as e:
            raise SourceError(str(e)) from None
        except PrometheusApiClientException as e:
            raise clean_error(self.spec, prom_error(e)) from None
        except requests.JSONDecodeError:
            raise SourceError("answer is not JSON (is `url` a Prometheus server?)") from None
        except httpx.HTTPError as e:
            raise clean_error(self.spec, transport_error(e, timeout)) from None
        except requests.RequestException as e:
            raise SourceError(connection_error(e, timeout)) from None
        except (KeyError, TypeError):
            raise SourceError("unexpected answer (is `url` a Prometheus server?)") from None

    async def _query(self, text: str) -> Any:
        self.queries += 1
        return await self._call(lambda c: c.custom_query(text))

    async def sample(self, signal: SignalSpec) -> Values:
        """The signal's values with their provenance (`Sample`): one round trip (see `promql`)."""
        query = signal.query or ""
        targets = tuple(self.spec.targets)
        if signal.id not in self._plain:
            try:
                env = promql.split(await self._query(promql.envelope(query, targets)), query, targets)
            except SourceError as e:
                if not str(e).startswith("bad_data"):
                    raise
                # the envelope can be refused where the query is not (a scalar cannot be labelled):
                # the query alone says which; if it answers, ask for the age and health beside it
                values = series_values(signal, await self._query(query))
                self._plain.add(signal.id)
                return await self._provenance(signal, values, query, targets)
            values = series_values(signal, env.values)
            return self._sample(values, env, query, targets)
        values = series_values(signal, await self._query(query))
        return await self._provenance(signal, values, query, targets)

    async def _provenance(self, signal: SignalSpec, values: Values, query: str, targets: tuple[str, ...]) -> Sample:
        """Age and health of a query that could not be wrapped: one more round trip."""
        parts = [p for p in (promql.age_query(query), promql.health_query(targets)) if p]
        env = promql.split(await self._query("\nor ".join(parts)), query, targets) if parts else promql.Envelope()
        return self._sample(values, env, query, targets)

    def _sample(self, values: Values, env: promql.Envelope, query: str, targets: tuple[str, ...]) -> Sample:
        age = max(env.ages.values()) if env.ages else None
        problems: list[str] = []
        shown: list[dict[str, Any]] = []
        limit = source_max_age(self.spec)
        now = time.time()
        if targets and not env.wrapped:
            problems.append("the server did not answer the targets' health query")
        for sel, found in env.targets.items():
            if not found:
                problems.append(f"target {sel} missing (no `up` series)")
            for t in found:
                shown.append({"target": t.name, "selector": sel, "up": t.up if math.isfinite(t.up) else None,
                              "age": round(t.age, 3) if math.isfinite(t.age) else None, "samples": t.samples})
                if t.up == 1:
                    self._down_since.pop(t.name, None)
                else:
                    since = self._down_since.setdefault(t.name, now - (t.age if math.isfinite(t.age) else 0.0))
                    problems.append(f"target {t.name} down since {clock(since)}")
                    continue
                if not t.age <= limit:
                    problems.append(f"target {t.name} not scraped for {format_duration(t.age)}")
                elif t.samples == 0:
                    problems.append(f"target {t.name} up but its scrape held 0 samples")
        problem = None
        if problems:
            problem = problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        return Sample(values, query=query, age=age, ages=env.ages, targets=shown, problem=problem)

    async def backfill(self, signal: SignalSpec, now: float) -> Points:
        """Points over the last ``spec.backfill`` seconds, at about one per polling interval."""
        span = self.spec.backfill
        step = max(self.step, span / MAX_POINTS, 1.0)
        # the client rounds to whole seconds: floor, so no point lands after the first live sample
        end = dt.datetime.fromtimestamp(math.floor(now), dt.UTC)
        start = end - dt.timedelta(seconds=span)
        query = signal.query or ""
        result = await self._call(lambda c: c.custom_query_range(query, start, end, f"{step:g}s"))
        return series_points(signal, result)

    async def close(self) -> None:
        adapter, self._adapter = self._adapter, None
        client, self._client = self._client, None
        if adapter is not None:
            await adapter.aclose()
        if client is not None:
            client.close()
