"""A local stand-in for Grafana's annotations HTTP API that checks every request's exact shape.

Grafana is not packaged on Debian, so the annotation tests run against this real HTTP
server on loopback. It implements the two calls cockpit makes, as the Grafana HTTP API
documentation ("Annotations") describes them, and refuses anything else the way Grafana
would (a JSON ``{"message": …}`` with 400/401/404):

* ``POST /api/annotations``: JSON object; ``time`` (epoch ms, integer) required; ``text``
  (string) required; ``tags`` a list of strings; optional ``timeEnd`` (epoch ms, >= time),
  ``dashboardUID`` (string), ``panelId`` (integer); no other keys. Answer 200
  ``{"message": "Annotation added", "id": N}``.
* ``PATCH /api/annotations/:id``: JSON object with some of ``text``, ``tags``, ``time``,
  ``timeEnd``; an unknown id is 404. Answer 200 ``{"message": "Annotation patched"}``.
* ``Authorization: Bearer <token>`` on every request (else 401 ``Unauthorized``),
  ``Content-Type: application/json``.

Every request is recorded (method, path, headers, body) with the problems found; the
annotations it holds are kept so tests can read the regions back. ``fail`` makes it
answer a given status (e.g. 500) to every request until cleared; ``hold`` (an event)
keeps every answer back, the request already recorded, until the test sets it.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

POST_KEYS = {"time": int, "timeEnd": int, "tags": list, "text": str, "dashboardUID": str, "panelId": int}
PATCH_KEYS = {"time": int, "timeEnd": int, "tags": list, "text": str}
_PATCH_PATH = re.compile(r"^/api/annotations/(\d+)$")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    problems: list[str]
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class GrafanaReceiver:
    token: str
    server: ThreadingHTTPServer | None = None
    requests: list[Request] = field(default_factory=list)
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail: int | None = None
    hold: threading.Event | None = None     # when set: every answer waits until the test sets this event
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def wait(self, n: int, timeout: float = 20.0) -> list[Request]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= n, timeout):
                raise AssertionError(f"grafana receiver: {len(self.requests)} requests after {timeout}s, wanted {n}")
            return list(self.requests)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        problems: list[str] = []
        status, answer = self._answer(method, path, headers, body, problems)
        with self._changed:
            self.requests.append(Request(method, path, headers, body, problems, status))
            self._changed.notify_all()
        return status, answer

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                problems: list[str]) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            problems.append(f"Authorization header is not 'Bearer <token>': {headers.get('authorization')!r}")
            return 401, {"message": "Unauthorized"}
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            problems.append(f"Content-Type is not application/json: {headers.get('content-type')!r}")
            return 400, {"message": "bad request data"}
        if self.fail is not None:
            return self.fail, {"message": "Failed to save annotation"}
        try:
            doc = json.loads(body)
        except ValueError:
            problems.append("body is not JSON")
            return 400, {"message": "bad request data"}
        if not isinstance(doc, dict):
            problems.append("body is not a JSON object")
            return 400, {"message": "bad request data"}
        if method == "POST" and path == "/api/annotations":
            self._shape(doc, POST_KEYS, problems)
            for key in ("time", "text"):
                if key not in doc:
                    problems.append(f"missing {key}")
            if "timeEnd" in doc and isinstance(doc.get("time"), int) and doc["timeEnd"] < doc["time"]:
                problems.append("timeEnd before time")
            if problems:
                return 400, {"message": "; ".join(problems)}
            with self._lock:
                ident = len(self.annotations) + 1
                self.annotations[ident] = dict(doc)
            return 200, {"message": "Annotation added", "id": ident}
        m = _PATCH_PATH.match(path)
        if method == "PATCH" and m:
            self._shape(doc, PATCH_KEYS, problems)
            if not doc:
                problems.append("nothing to patch")
            if problems:
                return 400, {"message": "; ".join(problems)}
            ident = int(m.group(1))
            with self._lock:
                if ident not in self.annotations:
                    return 404, {"message": "Could not find annotation to update"}
                self.annotations[ident].update(doc)
            return 200, {"message": "Annotation patched"}
        problems.append(f"not a Grafana annotations call: {method} {path}")
        return 404, {"message": "Not found"}

    @staticmethod
    def _shape(doc: dict[str, Any], allowed: dict[str, type], problems: list[str]) -> None:
        for key, value in doc.items():
            want = allowed.get(key)
            if want is None:
                problems.append(f"unknown key {key!r}")
            elif want is int and (not isinstance(value, int) or isinstance(value, bool)):
                problems.append(f"{key} is not an integer (epoch ms): {value!r}")
            elif want is not int and not isinstance(value, want):
                problems.append(f"{key} is not a {want.__name__}")
            elif key == "tags" and not all(isinstance(t, str) for t in value):
                problems.append("tags are not all strings")
            elif key in ("time", "timeEnd") and not 10**12 <= value < 10**14:
                problems.append(f"{key} is not epoch milliseconds: {value}")

    def start(self) -> GrafanaReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, answer = receiver.handle(self.command, self.path,
                                                 {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.hold is not None:
                    receiver.hold.wait(30.0)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PATCH = do_GET = do_DELETE = do_PUT = _serve

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
