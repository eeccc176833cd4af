"""The http source against a real HTTP server on loopback whose behaviour the test sets."""

from __future__ import annotations

import time

import pytest

from cockpit.sources.base import SourceError
from cockpit.sources.http import HttpSampler
from tests.sources import build
from tests.support.httpstub import HttpStub


def sampler(url: str, **kw: object) -> HttpSampler:
    return HttpSampler(build.source("blue", "http", url=url, **kw))


async def test_status_is_recorded_whatever_it_is(stub: HttpStub):
    s = sampler(stub.url("/healthz"))
    sig = build.signal("healthz", "blue", field_="status")
    try:
        assert await s.sample(sig) == {"": 200.0}
        stub.set(status=500, body=b"boom", content_type="text/plain")
        assert await s.sample(sig) == {"": 500.0}  # a value: the check decides
    finally:
        await s.close()


async def test_latency(stub: HttpStub):
    stub.set(delay=0.2)
    s = sampler(stub.url())
    try:
        latency = (await s.sample(build.signal("lat", "blue", field_="latency")))[""]
        assert 0.2 <= latency < 2.0
    finally:
        await s.close()


async def test_json_path_and_object_of_numbers(stub: HttpStub):
    stub.set(body=b'{"ingestion": {"lag_seconds": "42.5", "by_stream": {"events": 3, "views": 7}}, "list": [1, 2]}')
    s = sampler(stub.url())
    try:
        assert await s.sample(build.signal("lag", "blue", field_="json:ingestion.lag_seconds")) == {"": 42.5}
        assert await s.sample(build.signal("st", "blue", field_="json:ingestion.by_stream")) == {
            "events": 3.0, "views": 7.0,
        }
        assert await s.sample(build.signal("l", "blue", field_="json:list.1")) == {"": 2.0}
        with pytest.raises(SourceError, match=r"no 'ingestion\.nope' in the JSON body"):
            await s.sample(build.signal("x", "blue", field_="json:ingestion.nope"))
        stub.set(body=b'{"lag": "soon"}')
        with pytest.raises(SourceError, match="'lag' in the JSON body is not a number: 'soon'"):
            await s.sample(build.signal("x", "blue", field_="json:lag"))
    finally:
        await s.close()


async def test_json_needs_a_2xx_json_answer(stub: HttpStub):
    s = sampler(stub.url())
    sig = build.signal("lag", "blue", field_="json:lag")
    try:
        stub.set(status=502, body=b'{"lag": 1}')
        with pytest.raises(SourceError, match=r"^HTTP 502$"):
            await s.sample(sig)
        stub.set(status=200, body=b"\x00\xffgarbage", content_type="application/octet-stream")
        with pytest.raises(SourceError, match=r"^body is not JSON"):
            await s.sample(sig)
    finally:
        await s.close()


async def test_timeout_refused_and_dropped(stub: HttpStub, closed_port: int):
    sig = build.signal("h", "blue")
    stub.set(hang=True)
    s = sampler(stub.url(), timeout=0.5)
    try:
        t = time.monotonic()
        with pytest.raises(SourceError, match=r"^no answer within 0\.5s$"):
            await s.sample(sig)
        assert time.monotonic() - t < 1.5
        stub.set(drop=True)
        with pytest.raises(SourceError, match=r"^connection dropped by the server$"):
            await s.sample(sig)
    finally:
        await s.close()
    dead = sampler(f"http://127.0.0.1:{closed_port}/healthz")
    try:
        with pytest.raises(SourceError, match=r"^connection refused$"):
            await dead.sample(sig)
    finally:
        await dead.close()


async def test_secret_header_sent_never_shown(stub: HttpStub, monkeypatch: pytest.MonkeyPatch):
    token = "http-s3cret-9876"
    monkeypatch.setenv("T_HTTP_TOKEN", token)
    s = sampler(stub.url("/healthz?key=${env:T_HTTP_TOKEN}"), headers={"X-Api-Key": "${env:T_HTTP_TOKEN}"})
    try:
        assert await s.sample(build.signal("h", "blue")) == {"": 200.0}
        path, headers = stub.requests[-1]
        assert headers["X-Api-Key"] == token and path == f"/healthz?key={token}"
        stub.set(body=f"token {token} is not JSON".encode())
        with pytest.raises(SourceError) as e:
            await s.sample(build.signal("j", "blue", field_="json:lag"))
        assert token not in str(e.value) and "[redacted]" in str(e.value)
    finally:
        await s.close()


async def test_tls_is_verified_and_ca_bundle_trusts_a_private_ca(tmp_path):
    import json

    from cockpit.sources.prometheus import PrometheusSampler
    from tests.support.httpstub import running_stub, self_signed

    cert, key = self_signed(tmp_path)
    ok = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "3"]}]}}
    with running_stub(cert, key) as tls:
        tls.set(body=json.dumps(ok).encode())
        untrusted = sampler(tls.url("/healthz"))
        trusted = sampler(tls.url("/healthz"), ca_bundle=str(cert))
        prom_untrusted = PrometheusSampler(build.source("p", "prometheus", url=tls.url()))
        prom_trusted = PrometheusSampler(build.source("p", "prometheus", url=tls.url(), ca_bundle=str(cert)))
        try:
            with pytest.raises(SourceError, match=r"^TLS error: certificate not trusted"):
                await untrusted.sample(build.signal("h", "blue"))
            assert await trusted.sample(build.signal("h", "blue")) == {"": 200.0}
            with pytest.raises(SourceError, match=r"^TLS error: certificate not trusted"):
                await prom_untrusted.sample(build.signal("q", "p", query="up"))
            assert await prom_trusted.sample(build.signal("q", "p", query="up")) == {"": 3.0}
        finally:
            for s in (untrusted, trusted, prom_untrusted, prom_trusted):
                await s.close()


async def test_echoed_secret_is_never_cut_before_redaction(stub: HttpStub, monkeypatch: pytest.MonkeyPatch):
    """A server that echoes the token in an error body: the reason must not keep a piece of it
    (redacting after cutting the body to 40 characters left the token's first characters)."""
    secret = "tok-0123456789abcdef"
    monkeypatch.setenv("PROBE_TOKEN", secret)
    s = sampler(stub.url(), headers={"Authorization": "Bearer ${env:PROBE_TOKEN}"})
    try:
        stub.set(body=("x" * 20 + f" bad token {secret} for you").encode(), content_type="text/plain")
        with pytest.raises(SourceError) as cut:
            await s.sample(build.signal("lag", "blue", field_="json:lag"))
        stub.set(body=f'{{"lag": "{"y" * 50} {secret}"}}'.encode())
        with pytest.raises(SourceError) as echoed:
            await s.sample(build.signal("lag", "blue", field_="json:lag"))
    finally:
        await s.close()
    for exc in (cut.value, echoed.value):
        assert secret[:6] not in str(exc), str(exc)
