"""`secrets.redact`: a secret is hidden in every form a server or a command can echo it in."""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest

from cockpit import secrets
from cockpit.journal import Redactor
from cockpit.secrets import redact

REDACTED = "[redacted]"
MIN_PART = 8   # secrets.MIN_PART: pieces shorter than this are not redacted line by line

TOKEN = "Xq7pL2mZ9vR4tW8yK3nB6cD1"
WEBHOOK = f"https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/{TOKEN}"
DB_URL = "postgres://deploy:s3cr3t-Pa55w0rd@db.internal:5432/academy?sslmode=require&apikey=k3yK3yK3yK3y"


def hidden(text: str, *secrets: str) -> str:
    return redact(text, secrets)


@pytest.mark.parametrize("echo", [
    f"Cannot POST /services/T0AB12CD3/B0EF45GH6/{TOKEN}",
    f"no_service for {TOKEN}",
    f"path={quote('/services/T0AB12CD3/B0EF45GH6/' + TOKEN, safe='')}",
    f"url={quote(WEBHOOK, safe='')}",
    f"url={quote_plus(WEBHOOK)}",
    f"url={quote(WEBHOOK, safe='').lower()}",   # lower-case hex escapes, and a lower-cased echo
    f"Cannot POST /SERVICES/T0AB12CD3/B0EF45GH6/{TOKEN.upper()}",
    json.dumps({"url": WEBHOOK}).replace("/", "\\/"),   # PHP's json_encode escapes slashes
    html.escape(f"<a href='{WEBHOOK}?a=1&b=2'>"),
])
def test_webhook_parts_are_hidden(echo: str) -> None:
    out = hidden(echo, WEBHOOK)
    assert TOKEN.lower() not in out.lower() and TOKEN[:12].lower() not in out.lower() and REDACTED in out, out


def test_common_segments_and_the_origin_stay_readable() -> None:
    out = hidden("POST https://hooks.slack.com/services/ answered: see /services and /api", WEBHOOK)
    assert out == "POST https://hooks.slack.com/services/ answered: see /services and /api"


def test_userinfo_password_and_query_values_are_hidden() -> None:
    for echo in ("auth failed for s3cr3t-Pa55w0rd", "user deploy:s3cr3t-Pa55w0rd",
                 "apikey k3yK3yK3yK3y rejected", "Basic " + base64.b64encode(b"deploy:s3cr3t-Pa55w0rd").decode()):
        out = hidden(echo, DB_URL)
        assert "s3cr3t" not in out and "k3yK3y" not in out and "ZGVwbG95OnMzY3IzdC1QYTU1dzByZA" not in out, out
    assert hidden("sslmode=require on db.internal", DB_URL) == "sslmode=require on db.internal"
    assert hidden("connected to db.internal:5432/academy", DB_URL) == "connected to db.internal:5432/academy"


@pytest.mark.parametrize("prefix", ["", "a", "ab", "user:", "me@x.io:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
@pytest.mark.parametrize("padding", [True, False])
def test_base64_at_every_alignment(prefix: str, encode: object, padding: bool) -> None:
    secret = "jira+tok/en=9d8c7b6a5Z?>~"   # bytes that differ between the std and URL-safe alphabets
    blob = encode((prefix + secret + "!").encode()).decode()  # type: ignore[operator]
    if not padding:
        blob = blob.rstrip("=")
    out = hidden(f"Authorization: Basic {blob}", secret)
    assert REDACTED in out, (prefix, blob, out)
    # what is left of the blob is the encoding of the prefix and of the suffix only
    left = out.replace(REDACTED, "").removeprefix("Authorization: Basic ")
    assert len(left) <= -(-len(prefix) * 4 // 3) + 1 + 4, out


def test_a_secret_folded_across_lines_is_hidden_in_the_joined_text() -> None:
    token = "fOLd9Tok3nAbCdEfGhIjKlMnOpQrStUvWxYz0123"
    for width in (3, 7, 12, 25):
        text = "token=" + token + " end"
        folded = "\n".join(text[i:i + width] for i in range(0, len(text), width))
        out = hidden(folded, token)
        assert all(token[i:i + 4] not in out.replace("\n", "") for i in range(len(token) - 3)), (width, out)


def test_line_by_line_only_pieces_shorter_than_min_part_can_remain() -> None:
    token = "fOLd9Tok3nAbCdEfGhIjKlMnOpQrStUvWxYz0123"
    lines = [("token=" + token + " end")[i:i + 12] for i in range(0, len(token) + 10, 12)]
    out = [hidden(line, token) for line in lines]
    # 6 characters ending the line as a word: the start of the secret (MIN_EDGE and more)
    assert out == [f"token={REDACTED}", REDACTED, REDACTED, f"{REDACTED} e", "nd"], out
    for line in out:
        left = line.replace(REDACTED, "")
        assert not any(token[i:i + MIN_PART] in left for i in range(len(token) - MIN_PART + 1)), out


def test_short_pieces_only_as_whole_words_at_a_line_edge() -> None:
    token = "fOLd9Tok3nAbCdEfGhIjKlMnOpQrStUvWxYz0123"
    assert hidden("see the fOLd9 doc", token) == "see the fOLd9 doc"        # not at an edge
    assert hidden("prefixfOLd9T", token) == "prefixfOLd9T"                  # not a whole word
    assert hidden("key: fOLd9T", token) == f"key: {REDACTED}"
    assert hidden("x0123 end", token) == "x0123 end" and hidden("z0123 end", token) == f"{REDACTED} end"
    assert hidden("fOL", token) == "fOL"                                    # below MIN_EDGE: shown


def test_short_and_ordinary_text_is_untouched() -> None:
    assert hidden("ok\n", TOKEN) == "ok\n"
    assert hidden("deployed release 2024-05-01 to web-1\nall good", TOKEN, WEBHOOK, DB_URL) == \
        "deployed release 2024-05-01 to web-1\nall good"
    assert redact("abc abc", ["abc"]) == "abc abc"   # shorter than 4: never a secret


def test_forms_are_longest_first_and_include_the_value() -> None:
    assert secrets.MIN_PART == MIN_PART
    forms = secrets.secret_forms(WEBHOOK)
    assert forms[0] and len(forms[0]) >= len(forms[-1]) and WEBHOOK in forms and TOKEN in forms
    assert "services" not in forms and "hooks.slack.com" not in forms


def test_the_journal_redactor_hides_parts_too() -> None:
    r = Redactor([WEBHOOK])
    entry = r.deep({"reason": f"Cannot POST /services/T0AB12CD3/B0EF45GH6/{TOKEN}",
                    "tail": ["x", f"{TOKEN[:10]}"]})
    assert TOKEN not in json.dumps(entry) and TOKEN[:10] not in json.dumps(entry)


def test_a_short_userinfo_password_is_hidden_like_a_whole_value() -> None:
    assert hidden("login pw12x failed", "mysql://bob:pw12x@db.internal/academy") == "login [redacted] failed"
