"""A small Alertmanager API v2 client: silences (create, extend, read, expire) and active alerts.

Every request goes through the HTTP steps' one policy (`cockpit.steps.http.request`):
a TOTAL deadline per call, the answer read through `cockpit.bounded.fetch` with a
byte cap, one retry only when the request provably never reached Alertmanager.
Failures raise `AlertmanagerError` whose message names the server by its origin
only and never holds a secret (``${env:…}`` headers are resolved here and redacted).

Facts checked against Debian's prometheus-alertmanager 0.25:

* ``POST /api/v2/silences`` answers ``{"silenceID": "…"}``; POSTing a silence WITH its
  ``id``, the same ``startsAt`` and matchers and a later ``endsAt`` updates it in place
  (same id). Anything else changed makes Alertmanager expire it and create a new one
  with a new id: `extend_silence` returns whichever id came back.
* ``GET /api/v2/silence/{id}``: ``status.state`` is ``active``, ``pending`` or ``expired``;
  404 for an unknown id.
* ``DELETE /api/v2/silence/{id}``: 200, also for a silence already expired.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from cockpit import secrets
from cockpit.steps import http
from cockpit.steps.base import StepFailure

_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class AlertmanagerError(Exception):
    """A call that did not do what was asked; the message is fit to show (no secret)."""


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool
    is_equal: bool

    def api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return f'{self.name}{op[(self.is_regex, self.is_equal)]}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """``name="v"``, ``name!="v"``, ``name=~"re"``, ``name!~"re"``; ValueError with the reason."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f'{text!r} is not a matcher (write name="value", name!="value", name=~"re" or name!~"re")')
    name, op, raw = m.groups()
    value = raw.replace('\\"', '"').replace("\\\\", "\\")
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{text!r}: bad regular expression ({exc})") from None
    return Matcher(name, value, op in ("=~", "!~"), op in ("=", "=~"))


def iso(ts: float) -> str:
    """An RFC 3339 time in UTC with milliseconds (what Alertmanager writes)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(ts * 1000) % 1000:03d}Z"


def parse_time(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class Silence:
    id: str
    state: str                 # active | pending | expired
    starts_at: float | None
    ends_at: float | None
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class Alert:
    labels: Mapping[str, str]
    state: str                 # active | suppressed | unprocessed
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]

    @property
    def pages(self) -> bool:
        return not self.silenced_by and not self.inhibited_by and self.state != "suppressed"


class Client:
    """One Alertmanager (``url`` its base, ``headers`` may hold ``${env:…}``)."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0,
                 verify: ssl.SSLContext | bool = True) -> None:
        self._url_ref = url
        self._headers_ref = dict(headers or {})
        self.timeout = timeout
        self.verify = verify
        try:
            self.base = secrets.resolve(url).rstrip("/")
            self.headers = {k: secrets.resolve(v) for k, v in self._headers_ref.items()}
        except secrets.SecretError as exc:
            raise AlertmanagerError(f"Alertmanager: {exc}") from None
        self.hidden = secrets.secret_values([url, *self._headers_ref.values()])
        self.target = f"Alertmanager ({http.origin(self.base)})"

    def scrub(self, text: str) -> str:
        return secrets.redact(text, self.hidden)

    async def _call(self, method: str, path: str, body: Any = None) -> http.Answer:
        try:
            return await http.request(method, self.base + path, target=self.target, timeout=self.timeout,
                                      headers={**self.headers, "Accept": "application/json"}, json=body,
                                      verify=self.verify)
        except StepFailure as exc:
            raise AlertmanagerError(self.scrub(exc.reason)) from None

    def _refused(self, what: str, answer: http.Answer) -> AlertmanagerError:
        said = http.body_excerpt(answer.body, self.scrub) if answer.body.strip() else "(empty body)"
        return AlertmanagerError(f"{self.target} refused {what}: {http.status_reason(answer.status)}: {said}")

    async def create_silence(self, matchers: Sequence[Matcher], starts: float, ends: float, created_by: str,
                             comment: str) -> str:
        body = {"matchers": [m.api() for m in matchers], "startsAt": iso(starts), "endsAt": iso(ends),
                "createdBy": created_by, "comment": comment}
        answer = await self._call("POST", "/api/v2/silences", body)
        return self._silence_id(answer, "the silence")

    def _silence_id(self, answer: http.Answer, what: str) -> str:
        if answer.status != 200:
            raise self._refused(what, answer)
        doc = answer.json
        sid = doc.get("silenceID") if isinstance(doc, dict) else None
        if not isinstance(sid, str) or not _ID.match(sid):
            raise AlertmanagerError(f"{self.target} answered {what} with something that is not a silence id "
                                    f"({len(answer.body.encode())} bytes, not quoted)")
        return sid

    async def get_silence(self, silence_id: str) -> Silence | None:
        """The silence, or None when Alertmanager does not know it (404)."""
        answer = await self._call("GET", f"/api/v2/silence/{quote(silence_id, safe='')}")
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise self._refused(f"reading silence {silence_id}", answer)
        doc = answer.json
        status = doc.get("status") if isinstance(doc, dict) else None
        state = status.get("state") if isinstance(status, dict) else None
        if not isinstance(doc, dict) or state not in ("active", "pending", "expired"):
            raise AlertmanagerError(f"{self.target} answered silence {silence_id} with something that is not "
                                    f"a silence ({len(answer.body.encode())} bytes, not quoted)")
        return Silence(str(doc.get("id", silence_id)), str(state), parse_time(doc.get("startsAt")),
                       parse_time(doc.get("endsAt")), doc)

    async def extend_silence(self, silence_id: str, ends: float) -> str:
        """Move ``endsAt`` of the silence to ``ends``; the id that holds it now (normally the same)."""
        current = await self.get_silence(silence_id)
        if current is None:
            raise AlertmanagerError(f"{self.target} no longer knows silence {silence_id}")
        if current.state == "expired":
            raise AlertmanagerError(f"silence {silence_id} has expired already (someone expired it?)")
        body = {k: current.raw[k] for k in ("matchers", "startsAt", "createdBy", "comment") if k in current.raw}
        body.update(id=silence_id, endsAt=iso(ends))
        answer = await self._call("POST", "/api/v2/silences", body)
        return self._silence_id(answer, f"the extension of silence {silence_id}")

    async def expire_silence(self, silence_id: str) -> None:
        answer = await self._call("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}")
        if answer.status == 404:
            return      # unknown: nothing left to expire
        if answer.status != 200:
            raise self._refused(f"expiring silence {silence_id}", answer)

    async def alerts(self, filters: Sequence[str] = (), *, active: bool = True, silenced: bool = True,
                     inhibited: bool = True) -> list[Alert]:
        """Alerts matching ``filters``; ``silenced=False`` leaves the silenced ones out (Alertmanager's own
        filter), and so on."""
        query = urlencode([("active", str(active).lower()), ("silenced", str(silenced).lower()),
                           ("inhibited", str(inhibited).lower()), *(("filter", f) for f in filters)])
        answer = await self._call("GET", f"/api/v2/alerts?{query}")
        if answer.status != 200:
            raise self._refused("the alerts query", answer)
        doc = answer.json
        if not isinstance(doc, list):
            raise AlertmanagerError(f"{self.target} answered the alerts query with something that is not a "
                                    f"list of alerts ({len(answer.body.encode())} bytes, not quoted)")
        out: list[Alert] = []
        for item in doc:
            if not isinstance(item, dict) or not isinstance(item.get("labels"), dict):
                raise AlertmanagerError(f"{self.target}: an alert without labels in the answer")
            status = item.get("status") if isinstance(item.get("status"), dict) else {}
            assert isinstance(status, dict)
            out.append(Alert({str(k): str(v) for k, v in item["labels"].items()}, str(status.get("state", "")),
                             tuple(str(s) for s in status.get("silencedBy") or () if isinstance(s, str)),
                             tuple(str(s) for s in status.get("inhibitedBy") or () if isinstance(s, str))))
        return out
