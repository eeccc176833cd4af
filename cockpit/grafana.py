"""A small Grafana HTTP API client: annotations (post a point or a region's start, close a region).

Request shapes (Grafana HTTP API, "Annotations"):

* ``POST /api/annotations`` with ``{"time": ms, "tags": [...], "text": "...",
  "dashboardUID"?: "...", "panelId"?: n}`` (``timeEnd`` too for a closed region);
  answer ``{"message": "Annotation added", "id": n}``;
* ``PATCH /api/annotations/:id`` with ``{"timeEnd": ms}``; answer
  ``{"message": "Annotation patched"}``.

Authentication: ``Authorization: Bearer <service-account token>``, the token from
``${env:…}``, resolved here, never shown (every message is redacted with it). Every
request goes through the HTTP steps' one policy (`cockpit.steps.http.request`).
Grafana is not packaged on Debian: the tests run against a local receiver that checks
these shapes (tests/integrations/grafana_receiver.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any

from cockpit import secrets
from cockpit.profile.model import GrafanaSettings
from cockpit.steps import http
from cockpit.steps.base import StepFailure


class GrafanaError(Exception):
    """A call that did not do what was asked; the message is fit to show (no secret)."""


def ms(ts: float) -> int:
    return round(ts * 1000)


class Client:
    def __init__(self, settings: GrafanaSettings, *, verify: ssl.SSLContext | bool = True) -> None:
        if not settings.url:
            raise GrafanaError("[grafana] url is not set")
        if not settings.token:
            raise GrafanaError("[grafana] token is not set (a service-account token, as ${env:NAME})")
        self.settings = settings
        self.verify = verify
        try:
            self.base = secrets.resolve(settings.url).rstrip("/")
            self._token = secrets.resolve(settings.token)
        except secrets.SecretError as exc:
            raise GrafanaError(f"Grafana: {exc}") from None
        self.hidden = [v for v in (*secrets.secret_values([settings.url, settings.token]), self._token) if len(v) >= 4]
        self.target = f"Grafana ({http.origin(self.base)})"

    def scrub(self, text: str) -> str:
        return secrets.redact(text, self.hidden)

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> http.Answer:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                   "Content-Type": "application/json"}
        try:
            return await http.request(method, self.base + path, target=self.target, timeout=self.settings.timeout,
                                      headers=headers, json=body, verify=self.verify)
        except StepFailure as exc:
            raise GrafanaError(self.scrub(exc.reason)) from None

    def _refused(self, what: str, answer: http.Answer) -> GrafanaError:
        doc = answer.json
        said = doc.get("message") if isinstance(doc, dict) and isinstance(doc.get("message"), str) else None
        text = http.body_excerpt(said, self.scrub) if said else f"({len(answer.body.encode())} bytes, not quoted)"
        hint = {401: " (check the service-account token)", 403: " (the token may not write annotations)"}
        return GrafanaError(f"{self.target} refused {what}: {http.status_reason(answer.status)}"
                            f"{hint.get(answer.status, '')}: {text}")

    def body(self, when: float, text: str, tags: Sequence[str], end: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"time": ms(when), "tags": list(dict.fromkeys(tags)), "text": text}
        if end is not None:
            out["timeEnd"] = ms(end)
        if self.settings.dashboard_uid:
            out["dashboardUID"] = self.settings.dashboard_uid
        if self.settings.panel_id is not None:
            out["panelId"] = self.settings.panel_id
        return out

    async def annotate(self, when: float, text: str, tags: Sequence[str], end: float | None = None) -> int:
        """Post an annotation; its id."""
        answer = await self._call("POST", "/api/annotations", self.body(when, text, tags, end))
        if answer.status != 200:
            raise self._refused("the annotation", answer)
        doc = answer.json
        ident = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool) or ident < 0:
            raise GrafanaError(f"{self.target} answered the annotation without an id "
                               f"({len(answer.body.encode())} bytes, not quoted)")
        return ident

    async def close_region(self, annotation_id: int, end: float) -> None:
        answer = await self._call("PATCH", f"/api/annotations/{int(annotation_id)}", {"timeEnd": ms(end)})
        if answer.status != 200:
            raise self._refused(f"closing annotation {annotation_id}", answer)
