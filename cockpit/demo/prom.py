"""Prometheus's HTTP query API over the simulation, and the blue stack's /healthz.

The answers have Prometheus's exact shapes (``/api/v1/query``: a ``vector`` of
``{"metric": {...}, "value": [ts, "str"]}``; ``/api/v1/query_range``: a
``matrix`` with ``values``; errors ``{"status": "error", "errorType":
"bad_data", "error": ...}`` with HTTP 400). The PromQL "engine" only knows the
demo profile's series, recognised by metric name:

- ``redis_key_size`` (redis_exporter's key sizes): the Laravel queue keys, or
  per queue when the query aggregates ``by (queue)``;
- ``http_5xx_rate`` (a recording rule: 5xx / all responses over 1m);
- ``analytics_ingestion_lag_seconds``.

The cockpit's envelope (`cockpit.sources.promql`: the query, ``min(timestamp(S))``
of its selectors and the source's ``up`` targets, each tagged by a
``__cockpit_part`` label) is answered part by part: a sample's timestamp is
the simulation tick it was taken at, and every ``up`` target is up.

Any other query is answered ``bad_data``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from cockpit.demo.http import Request, Response
from cockpit.demo.sim import QUEUES, AcademySim, Snapshot

MAX_POINTS = 11_000
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_AGGREGATIONS = ("sum", "max", "min", "avg")

Labels = dict[str, str]
Series = list[tuple[Labels, float]]


PART = "__cockpit_part"
_PARTS = re.compile(r'label_replace\(\((.*?)\n\), "__cockpit_part", "(\w+)", "", ""\)', re.S)
_JOB = re.compile(r'job\s*=\s*"([^"]*)"')


class QueryError(ValueError):
    pass


def format_value(v: float) -> str:
    """A sample value as Prometheus writes it (Go's strconv 'f', -1: no exponent, no trailing .0)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = format(Decimal(repr(v)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def parse_time(text: str, name: str) -> float:
    """Unix seconds or RFC 3339, as Prometheus accepts them."""
    problem = QueryError(f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp')
    try:
        value = float(text)
    except ValueError:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError, OSError):
            raise problem from None
    if not math.isfinite(value) or abs(value) > 1e13:
        raise problem
    return value


def parse_step(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise QueryError(f'invalid parameter "step": cannot parse "{text}" to a valid duration') from None
        value = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if not value > 0 or not math.isfinite(value):
        raise QueryError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    return value


class PromQL:
    """Evaluates the demo profile's queries against snapshots of the simulation."""

    def __init__(self, wall: Callable[[float], float] = lambda t: t) -> None:
        self.wall = wall  # simulated time of a snapshot -> its wall-clock time (sample timestamps)
        self.families: dict[str, Callable[[str, Snapshot], Series]] = {
            "redis_key_size": _queues,
            "http_5xx_rate": _scalar_family(
                "http_5xx_rate", {"stack": "blue", "job": "academy-blue"}, "error_rate"
            ),
            "analytics_ingestion_lag_seconds": _scalar_family(
                "analytics_ingestion_lag_seconds", {"pipeline": "events", "job": "analytics"}, "lag"
            ),
        }

    def compile(self, query: str) -> Callable[[Snapshot], Series]:
        """Recognise ``query``; raise :class:`QueryError` (bad_data) for anything else."""
        if PART in query:
            return self._envelope(query)
        q = " ".join(query.split())
        if not q:
            raise QueryError('invalid parameter "query": 1:1: parse error: no expression found in input')
        depth = 0
        for i, c in enumerate(q, start=1):
            depth += {"(": 1, ")": -1}.get(c, 0)
            if depth < 0:
                raise QueryError(
                    f"invalid parameter \"query\": 1:{i}: parse error: unexpected right parenthesis ')'"
                )
        if depth:
            raise QueryError(f'invalid parameter "query": 1:{len(q)}: parse error: unclosed left parenthesis')
        names = [n for n in self.families if re.search(rf"\b{n}\b", q)]
        if len(names) != 1:
            raise QueryError(
                f'invalid parameter "query": the demo Prometheus only answers the demo profile\'s queries '
                f"(on {', '.join(self.families)}); not: {q[:200]}"
            )
        family = self.families[names[0]]
        return lambda snap: family(q, snap)


    def _clock(self, labels: Labels) -> Callable[[Snapshot], Series]:
        return lambda snap: [(labels, self.wall(snap.t))]

    def _envelope(self, query: str) -> Callable[[Snapshot], Series]:
        parts: list[tuple[str, Callable[[Snapshot], Series]]] = []
        for expr, tag in _PARTS.findall(query):
            inner = expr.strip()
            if tag.startswith("n"):
                parts.append((tag, lambda snap: [({"instance": "127.0.0.1:9100"}, 12.0)]))
                continue
            if tag.startswith(("u", "s")):
                job = _JOB.search(inner)
                labels = {"instance": "127.0.0.1:9100", "job": job.group(1) if job else "academy"}
                if tag.startswith("u"):
                    parts.append((tag, _up(labels)))
                else:
                    parts.append((tag, self._clock(labels)))
            elif tag.startswith("t"):
                self.compile(inner)  # the selector must be one the demo knows
                parts.append((tag, lambda snap: [({}, self.wall(snap.t))]))
            else:
                parts.append((tag, self.compile(inner)))
        if not parts:
            raise QueryError('invalid parameter "query": the demo Prometheus cannot read this envelope')

        def evaluate(snap: Snapshot) -> Series:
            return [({**labels, PART: tag}, v) for tag, fn in parts for labels, v in fn(snap)]

        return evaluate


def _aggregated(q: str) -> bool:
    return q.split("(", 1)[0].strip().split(" ")[0] in _AGGREGATIONS


def _up(labels: Labels) -> Callable[[Snapshot], Series]:
    return lambda snap: [({"__name__": "up", **labels}, 1.0)]


def _queues(q: str, snap: Snapshot) -> Series:
    if _aggregated(q) and re.search(r"\bby\s*\(\s*queue\s*\)", q):
        return [({"queue": name}, snap.queues[name]) for name in QUEUES]
    if _aggregated(q):
        return [({}, sum(snap.queues.values()))]
    out: Series = []
    for name in QUEUES:
        key = f"laravel_database_queues:{name}"
        base = {"__name__": "redis_key_size", "db": "db0", "instance": "redis:9121", "job": "redis"}
        out.append(({**base, "key": key}, snap.queues[name]))
        out.append(({**base, "key": f"{key}:reserved"}, 0.0))
        out.append(({**base, "key": f"{key}:delayed"}, 0.0))
    return out


def _scalar_family(name: str, labels: Labels, attr: str) -> Callable[[str, Snapshot], Series]:
    def family(q: str, snap: Snapshot) -> Series:
        value = float(getattr(snap, attr))
        return [({}, value)] if _aggregated(q) else [({"__name__": name, **labels}, value)]

    return family


def _error(message: str, status: int = 400) -> Response:
    body = {"status": "error", "errorType": "bad_data", "error": message}
    return Response(status, json.dumps(body).encode(), "application/json")


def _success(data: dict[str, object]) -> Response:
    return Response(200, json.dumps({"status": "success", "data": data}).encode(), "application/json")


class PrometheusApi:
    """The request handler of the simulated Prometheus."""

    def __init__(self, sim: AcademySim) -> None:
        self.sim = sim
        self.promql = PromQL(self._wall)

    def _wall(self, t: float) -> float:
        """The wall time of simulated time ``t`` (the inverse of `AcademySim.sim_of`)."""
        return self.sim.wall0 + (t / self.sim.speed if t >= 0 else t)

    async def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "POST", "HEAD"):
            return Response(405, b"Method Not Allowed\n")
        if request.path in ("/api/v1/query", "/api/v1/query_range"):
            try:
                params = request.params()
                if request.path == "/api/v1/query":
                    return self.instant(params)
                return self.range(params)
            except QueryError as exc:
                return _error(str(exc))
        if request.path == "/api/v1/status/buildinfo":
            return _success(
                {"version": "2.42.0", "revision": "cockpit-demo", "branch": "demo", "goVersion": "go1.19"}
            )
        if request.path == "/":
            return Response(302, b'<a href="/graph">Found</a>.\n', "text/html", {"Location": "/graph"})
        if request.path == "/graph":
            return Response(200, b"<html><title>Prometheus (cockpit demo)</title></html>\n", "text/html")
        if request.path in ("/-/healthy", "/-/ready"):
            word = "Healthy" if request.path == "/-/healthy" else "Ready"
            return Response(200, f"Prometheus Server is {word}.\n".encode())
        return Response(404, b"404 page not found\n")

    def _query(self, params: dict[str, str]) -> Callable[[Snapshot], Series]:
        if "query" not in params:
            raise QueryError('invalid parameter "query": 1:1: parse error: no expression found in input')
        return self.promql.compile(params["query"])

    def instant(self, params: dict[str, str]) -> Response:
        evaluate = self._query(params)
        now = self.sim.clock()
        ts = parse_time(params["time"], "time") if params.get("time") else now
        snap = self.sim.at(ts) or self.sim.current()
        result = [
            {"metric": labels, "value": [round(ts, 3), format_value(v)]} for labels, v in evaluate(snap)
        ]
        return _success({"resultType": "vector", "result": result})

    def range(self, params: dict[str, str]) -> Response:
        evaluate = self._query(params)
        for name in ("start", "end", "step"):
            if not params.get(name):
                raise QueryError(
                    f'invalid parameter "{name}": cannot parse "" to a valid timestamp'
                    if name != "step"
                    else 'invalid parameter "step": cannot parse "" to a valid duration'
                )
        start = parse_time(params["start"], "start")
        end = parse_time(params["end"], "end")
        step = parse_step(params["step"])
        if end < start:
            raise QueryError('invalid parameter "end": end timestamp must not be before start time')
        if (end - start) / step > MAX_POINTS:
            raise QueryError(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                "resolution (?step=XX)"
            )
        series: dict[str, tuple[Labels, list[list[object]]]] = {}
        ts = start
        while ts <= end + 1e-9:
            snap = self.sim.at(ts)
            if snap is not None:
                for labels, v in evaluate(snap):
                    key = json.dumps(labels, sort_keys=True)
                    series.setdefault(key, (labels, []))[1].append([round(ts, 3), format_value(v)])
            ts += step
        result = [{"metric": labels, "values": values} for labels, values in series.values()]
        return _success({"resultType": "matrix", "result": result})


class BlueStack:
    """The blue stack's web endpoint: /healthz, answered by the simulated web hosts."""

    def __init__(self, sim: AcademySim) -> None:
        self.sim = sim

    async def __call__(self, request: Request) -> Response:
        if request.path != "/healthz":
            return Response(404, b"<html><title>404 Not Found</title></html>\n", "text/html")
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"Method Not Allowed\n")
        h = self.sim.healthz()
        return Response(h.status, h.body.encode(), h.content_type, delay=h.delay)
