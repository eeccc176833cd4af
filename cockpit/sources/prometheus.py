"""Prometheus source: an instant query per interval, one range query at start (backfill).

Uses prometheus-api-client's `PrometheusConnect`, tamed:

- ``retry=Retry(total=0)``: its default retries a 503 three times with backoff
  (about 21 s) behind the caller's back;
- every call gets ``timeout=spec.timeout`` (requests' connect/read timeout) and
  an overall `asyncio.wait_for` as a backstop;
- its calls block (requests), so they run in a small thread pool owned by this
  source: a hanging Prometheus can only exhaust its own threads, never the
  loop's default executor that other sources share;
- its errors carry Prometheus's JSON body only as ``repr(bytes)`` inside the
  message, so `prom_error` digs out Prometheus's own ``errorType: error``.

Headers (which may hold ``${env:…}``) are resolved by a requests auth hook as
each request is built, so the secret values are never stored on the client.
"""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests
from prometheus_api_client import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from cockpit.durations import format_duration
from cockpit.freshness import Sample, source_max_age
from cockpit.profile.model import SignalSpec, SourceSpec
from cockpit.secrets import SecretError, resolve
from cockpit.series import clock
from cockpit.sources import promql
from cockpit.sources.base import Points, SourceError, Values, ca_bundle, clean_error, name_series, to_float

T = TypeVar("T")
_STATUS = re.compile(r"HTTP Status Code (\d+) \((b(['\"]).*\3)\)\s*$", re.S)
MAX_POINTS = 11000  # Prometheus refuses range queries of more points per series


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
        return f"timeout after {format_duration(timeout)}"
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
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"prom-{spec.id}")
        self._plain: set[str] = set()  # signals whose query cannot be wrapped (scalar results)
        self._down_since: dict[str, float] = {}  # target -> when it was first seen down (local clock)
        self.queries = 0  # round trips made by `sample` (the benchmark reads it)

    def _connect(self) -> PrometheusConnect:
        if self._client is None:
            if not self.spec.url:
                raise SourceError("no `url` set")
            session = requests.Session()
            session.verify = ca_bundle(self.spec) or True
            session.auth = _ResolvedHeaders(dict(self.spec.headers))
            self._client = PrometheusConnect(
                url=resolve(self.spec.url).rstrip("/"),
                retry=Retry(total=0, read=False, redirect=3, raise_on_status=False),  # read=False: a read timeout stays a timeout
                session=session,
                timeout=self.spec.timeout,  # type: ignore[arg-type]  # requests takes float seconds
            )
        return self._client

    async def _call(self, fn: Callable[[PrometheusConnect], T]) -> T:
        loop = asyncio.get_running_loop()
        timeout = self.spec.timeout
        try:
            client = self._connect()
            return await asyncio.wait_for(loop.run_in_executor(self._pool, fn, client), timeout + 1.0)
        except TimeoutError:
            raise SourceError(f"timeout after {format_duration(timeout)}") from None
        except SecretError as e:
            raise SourceError(str(e)) from None
        except PrometheusApiClientException as e:
            raise clean_error(self.spec, prom_error(e)) from None
        except requests.JSONDecodeError:
            raise SourceError("answer is not JSON (is `url` a Prometheus server?)") from None
        except requests.RequestException as e:
            raise SourceError(connection_error(e, timeout)) from None
        except (KeyError, TypeError):
            raise SourceError("unexpected answer (is `url` a Prometheus server?)") from None
        except RuntimeError as e:  # executor shut down while closing
            raise SourceError(f"source closed ({e})") from None

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
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()
            self._client = None
