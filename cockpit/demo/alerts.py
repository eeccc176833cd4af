"""The demo's Alertmanager: alerts that follow the simulated platform, and silences kept in memory.

Enough of the Alertmanager API v2 for the cockpit's ``alertmanager`` source and ``silence`` step
(the shapes checked against Debian's prometheus-alertmanager 0.25 in ``tests/integrations``):
``GET /api/v2/alerts`` (``silenced``/``inhibited`` honoured), ``POST /api/v2/silences`` (create, or
update when the body carries an ``id``), ``GET`` and ``DELETE /api/v2/silence/{id}``.

The alerts are the ones the Academy runbook knows it triggers, firing while their cause holds:
HorizonPaused (a master paused), HorizonQueueGrowing (a queue over 100 jobs), OctaneDown (a web
host's Octane stopped), AnalyticsIngestionLag (lag over 60 s), and Http5xxHigh (over 0.1 %), which
the rollback's silence does not cover: it still pages until the rollback fixes it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from cockpit.alertmanager import iso, parse_time
from cockpit.demo.http import Request, Response
from cockpit.demo.sim import WEB_HOSTS, AcademySim

LABELS = {"env": "production", "team": "academy", "severity": "page"}


def _json(status: int, doc: Any) -> Response:
    return Response(status, json.dumps(doc).encode(), "application/json")


@dataclass
class _Silence:
    id: str
    matchers: list[dict[str, Any]]
    starts: float
    ends: float
    created_by: str
    comment: str
    expired_at: float | None = None

    def state(self, now: float) -> str:
        end = self.expired_at if self.expired_at is not None else self.ends
        if now >= end:
            return "expired"
        return "pending" if now < self.starts else "active"

    def covers(self, labels: dict[str, str]) -> bool:
        for m in self.matchers:
            value = labels.get(str(m.get("name")), "")
            pattern = str(m.get("value", ""))
            hit = re.fullmatch(pattern, value) is not None if m.get("isRegex") else value == pattern
            if hit != bool(m.get("isEqual", True)):
                return False
        return True

    def doc(self, now: float) -> dict[str, Any]:
        return {"id": self.id, "matchers": self.matchers, "startsAt": iso(self.starts),
                "endsAt": iso(self.expired_at if self.expired_at is not None else self.ends),
                "createdBy": self.created_by, "comment": self.comment, "updatedAt": iso(now),
                "status": {"state": self.state(now)}}


@dataclass
class DemoAlertmanager:
    """The request handler of the simulated Alertmanager."""

    sim: AcademySim
    silences: dict[str, _Silence] = field(default_factory=dict)
    _since: dict[str, float] = field(default_factory=dict)   # alertname -> when it started firing (wall)

    def firing(self) -> list[dict[str, str]]:
        """The labels of every alert firing now."""
        sim = self.sim
        snap = sim.current()
        names: list[str] = []
        if sim.horizon_status() == "paused":
            names.append("HorizonPaused")
        if any(v > 100 for v in snap.queues.values()):
            names.append("HorizonQueueGrowing")
        if any(sim.hosts[h].serving == "octane" and not sim.hosts[h].octane_running for h in WEB_HOSTS):
            names.append("OctaneDown")
        if snap.lag > 60:
            names.append("AnalyticsIngestionLag")
        if snap.error_rate > 0.001:
            names.append("Http5xxHigh")
        now = sim.clock()
        for gone in set(self._since) - set(names):
            del self._since[gone]
        for name in names:
            self._since.setdefault(name, now)
        return [{"alertname": n, **LABELS} for n in names]

    async def __call__(self, request: Request) -> Response:
        now = self.sim.clock()
        path = request.path
        if path == "/api/v2/alerts" and request.method == "GET":
            return _json(200, self._alerts(request, now))
        if path == "/api/v2/silences" and request.method == "POST":
            return self._post_silence(request, now)
        if path.startswith("/api/v2/silence/"):
            silence = self.silences.get(path.rsplit("/", 1)[1])
            if silence is None:
                return _json(404, "silence not found")
            if request.method == "GET":
                return _json(200, silence.doc(now))
            if request.method == "DELETE":
                if silence.state(now) != "expired":
                    silence.expired_at = now
                return Response(200)
        if path in ("/-/healthy", "/-/ready"):
            return Response(200, b"OK\n")
        return Response(404, b"404 page not found\n")

    def _alerts(self, request: Request, now: float) -> list[dict[str, Any]]:
        show_silenced = request.query.get("silenced", "true") != "false"
        out = []
        for labels in self.firing():
            by = [s.id for s in self.silences.values() if s.state(now) == "active" and s.covers(labels)]
            if by and not show_silenced:
                continue
            since = self._since.get(labels["alertname"], now)
            out.append({"labels": labels, "annotations": {"summary": labels["alertname"]},
                        "startsAt": iso(since), "endsAt": iso(now + 240), "updatedAt": iso(now),
                        "fingerprint": uuid.uuid5(uuid.NAMESPACE_OID, labels["alertname"]).hex[:16],
                        "receivers": [{"name": "pager"}], "generatorURL": "",
                        "status": {"state": "suppressed" if by else "active", "silencedBy": by,
                                   "inhibitedBy": []}})
        return out

    def _post_silence(self, request: Request, now: float) -> Response:
        try:
            body = json.loads(request.body)
        except ValueError:
            return _json(400, "bad silence: not JSON")
        required = _json(400, "bad silence: matchers, startsAt and endsAt (after startsAt) are required")
        if not isinstance(body, dict):
            return required
        matchers = body.get("matchers")
        starts, ends = parse_time(body.get("startsAt")), parse_time(body.get("endsAt"))
        if not isinstance(matchers, list) or not matchers or starts is None or ends is None or ends <= starts:
            return required
        sid = body.get("id")
        old = self.silences.get(sid) if isinstance(sid, str) else None
        if isinstance(sid, str) and old is None:
            return _json(404, "silence not found")
        if old is not None and old.state(now) != "expired":
            old.matchers, old.ends, old.comment = matchers, ends, str(body.get("comment", old.comment))
            return _json(200, {"silenceID": old.id})
        new = _Silence(str(uuid.uuid4()), matchers, max(starts, now), ends, str(body.get("createdBy", "")),
                       str(body.get("comment", "")))
        self.silences[new.id] = new
        return _json(200, {"silenceID": new.id})
