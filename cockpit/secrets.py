"""``${env:NAME}`` references: secrets stay references until the moment they are used.

Profiles name secrets (tokens, webhook URLs, passwords) as ``${env:NAME}``. The
profile object keeps the reference text; only :func:`resolve` reads the
environment, at the moment a request is built. Anything shown, logged or
journalled goes through :func:`redact` first.
"""

from __future__ import annotations

import base64
import functools
import html
import os
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


class SecretError(LookupError):
    """A ``${env:NAME}`` reference whose variable is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (referenced as ${{env:{name}}})")
        self.name = name


def env_refs(text: str) -> list[str]:
    """Names of the environment variables referenced in ``text``."""
    return ENV_REF.findall(text)


def resolve(text: str, environ: Mapping[str, str] | None = None) -> str:
    """Substitute every ``${env:NAME}``; raise :class:`SecretError` when one is unset."""
    env = os.environ if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise SecretError(name)
        return env[name]

    return ENV_REF.sub(sub, text)


def secret_values(texts: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The current values of every variable referenced by ``texts`` (for redaction)."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    for t in texts:
        for name in env_refs(t):
            v = env.get(name)
            if v and len(v) >= 4 and v not in out:
                out.append(v)
    return out


# --- redaction -------------------------------------------------------------------------------
#
# A secret leaks through its parts as well as whole: a server that echoes the path of a webhook
# URL ("Cannot POST /services/T0/B0/<token>"), a Basic auth header (base64 of "user:token"), a
# percent-encoded or HTML-escaped copy, a token that a command folds across lines. `redact`
# hides every *form* below of every secret value, and pieces of them at line edges.

REDACTED = "[redacted]"
MIN_PART = 8
"""Derived forms (URL segments, encodings, pieces) shorter than this are not redacted: they
would mangle ordinary text. The whole value is redacted from 4 characters."""
MIN_VALUE = 4
MIN_EDGE = 4
"""A piece of a secret this long at a line's edge, as a whole word, is redacted too (a secret
cut by line breaks, seen one line at a time)."""

COMMON_SEGMENTS = frozenset({
    "services", "service", "webhook", "webhooks", "incoming", "triggers", "trigger", "workflows",
    "workflow", "integrations", "integration", "messages", "channels", "comments", "attachments",
    "callback", "callbacks", "notifications", "notification", "endpoint", "endpoints", "graphql",
    "localhost", "rest", "api", "hooks", "v1", "v2", "v3", "issue", "issues", "comment", "content",
    "application", "download", "uploads", "events", "default", "production", "staging",
    "true", "false", "null",
})
"""Path and query segments that are never secret by themselves, however long."""

_NEWLINE = r"(?:\r?\n)?"
_PCT = re.compile(r"%[0-9A-F]{2}")


def _url_parts(value: str) -> list[str]:
    """The meaningful parts of a URL-like value: path and query segments, userinfo password.

    Only for values that parse as ``scheme://…``; anything else has no parts."""
    if "://" not in value:
        return []
    try:
        parts = urlsplit(value)
    except ValueError:
        return []
    out: list[str] = []
    if parts.password:
        out += [parts.password, unquote(parts.password)]
        if parts.username:
            out += [f"{parts.username}:{parts.password}", f"{unquote(parts.username)}:{unquote(parts.password)}"]
    segments = parts.path.split("/")
    for pair in parts.query.split("&") + parts.fragment.split("&"):
        key, _, val = pair.partition("=")
        segments.append(val if val else key)
    meaningful = [text for seg in segments for text in (seg, unquote(seg), unquote_plus(seg))
                  if len(text) >= MIN_PART and text.lower() not in COMMON_SEGMENTS]
    if any(seg in parts.path for seg in meaningful):
        out.append(parts.path)   # the path whole too, when it holds a secret part
    return out + meaningful


def _password(value: str) -> list[str]:
    if "://" not in value:
        return []
    try:
        pw = urlsplit(value).password
    except ValueError:
        return []
    return [pw, unquote(pw)] if pw else []


def _b64_forms(raw: bytes) -> list[str]:
    """Base64 of ``raw`` as it appears inside any larger base64 text (a Basic auth header of
    ``user:token``, a JSON blob): for each of the 3 byte alignments, the characters that depend on
    ``raw`` only, in the standard and the URL-safe alphabet; plus the whole padded encoding."""
    out = []
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        out += [whole, whole.rstrip("=")]
        for k in (1, 2):
            enc = encode(b"\0" * k + raw).decode().rstrip("=")
            start = -(-8 * k // 6)
            end = 8 * (k + len(raw)) // 6
            out.append(enc[start:end])
        out.append(whole[: 8 * len(raw) // 6])
    return out


def secret_forms(value: str) -> list[str]:
    """Every text that reveals ``value`` or a meaningful part of it, longest first.

    The value itself and its URL parts, each as written, percent-encoded, form-encoded,
    HTML-escaped, JSON-escaped (``\\/``) and in base64 (see `_b64_forms`)."""
    if len(value) < MIN_VALUE:
        return []
    bases = [value, *_url_parts(value)]
    whole = {value, *_password(value)}   # redacted as written from MIN_VALUE characters
    forms: list[str] = []
    for base in bases:
        percent = [quote(base, safe=""), quote(base, safe="/:"), quote_plus(base)]
        encodings = [base, *percent, *(_PCT.sub(lambda m: m.group().lower(), p) for p in percent),
                     html.escape(base), html.escape(base, quote=False), base.replace("/", "\\/"),
                     *_b64_forms(base.encode())]
        for form in encodings:
            short = MIN_VALUE if (form == base and base in whole) else MIN_PART
            if len(form) >= short and form not in forms:
                forms.append(form)
    return sorted(forms, key=len, reverse=True)


def secret_pieces(value: str) -> list[str]:
    """The texts whose pieces are redacted at line edges: the value, or for a URL its meaningful
    parts (never its origin or its path as a whole, which begin with ordinary text)."""
    parts = [p for p in _url_parts(value) if not p.startswith("/")]
    return parts if "://" in value else [value]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(text: str) -> str:
    """ASCII letters lower-cased, every other character kept (so positions do not move)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _alternation(forms: Iterable[str], between: str = "") -> re.Pattern[str] | None:
    """One pattern for ``forms``, longest first (the longest match wins at a position);
    ``between`` is allowed between any two characters (line breaks)."""
    ordered = sorted(set(forms), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(between.join(re.escape(c) for c in f) for f in ordered))


class _Matcher:
    """Finds forms in a text: those of `MIN_PART` characters or more whatever their ASCII case
    (a server that lower-cases the path it echoes still shows the token up to case), shorter
    ones exactly. Case is folded by an ASCII-only table, so positions stay those of the text."""

    def __init__(self, forms: list[str], between: str = "") -> None:
        self.folded = _alternation((_fold(f) for f in forms if len(f) >= MIN_PART), between)
        self.exact = _alternation((f for f in forms if len(f) < MIN_PART), between)

    def search(self, text: str) -> bool:
        return bool((self.folded and self.folded.search(_fold(text)))
                    or (self.exact and self.exact.search(text)))

    def sub(self, text: str) -> str:
        if self.folded is not None:
            out, last = [], 0
            for m in self.folded.finditer(_fold(text)):
                out += [text[last:m.start()], REDACTED]
                last = m.end()
            text = "".join(out) + text[last:] if out else text
        return self.exact.sub(REDACTED, text) if self.exact is not None else text


class Redaction:
    """The compiled redaction of a set of secret values (build once, apply to many texts).

    1. every form of every value (`secret_forms`) is replaced, also when line breaks cut it
       (a joined output tail, a response body); forms of `MIN_PART` characters or more whatever
       their ASCII case;
    2. then, line by line, a line that starts with the end of a form, ends with the start of
       one, or is a piece of one, at least `MIN_PART` characters long (output streamed line by
       line, where the other lines of the secret are not at hand).
    """

    def __init__(self, values: Iterable[str]) -> None:
        forms: list[str] = []
        pieces: list[str] = []
        for v in dict.fromkeys(values):
            forms += [f for f in secret_forms(v) if f not in forms]
            pieces += [p for p in secret_pieces(v) if len(p) > MIN_PART]
        self.forms = sorted(forms, key=len, reverse=True)
        # the forms that contain no other form: a text holds some form only if it holds one of
        # these, so they are all an ordinary line is searched for (and all the split search needs)
        self.minimal = [f for f in self.forms if not any(g in f for g in self.forms if len(g) < len(f))]
        self._any = _Matcher(self.minimal) if self.minimal else None
        self._all = _Matcher(self.forms)
        self.pieces = list(dict.fromkeys(pieces))
        self._split: _Matcher | None = None
        self._grams: dict[str, list[tuple[str, int]]] = {}
        for f in self.pieces:
            for i in range(len(f) - MIN_PART + 1):
                self._grams.setdefault(f[i:i + MIN_PART], []).append((f, i))
        # short pieces (MIN_EDGE to MIN_PART - 1 characters) count only as a whole word at a
        # line's edge: the start of a secret ending a line, or its end starting one
        short = range(MIN_EDGE, MIN_PART)
        self._starts = {f[:k] for f in self.pieces for k in short}
        self._ends = {f[-k:] for f in self.pieces for k in short}
        self._ends_head = {e[:MIN_EDGE] for e in self._ends}     # quick rejection of most lines
        self._starts_tail = {b[-MIN_EDGE:] for b in self._starts}

    def __bool__(self) -> bool:
        return bool(self.forms)

    def __call__(self, text: str) -> str:
        if self._any is None or not text:
            return text
        if self._any.search(text):
            text = self._all.sub(text)
        if "\n" in text:
            text = self._split_pattern().sub(text)
        if self._grams and len(text) >= MIN_PART:
            text = "\n".join(self._edges(line) for line in text.split("\n"))
        return text

    def _split_pattern(self) -> _Matcher:
        """A form cut by line breaks anywhere (compiled on first need: it is the slow part)."""
        if self._split is None:
            self._split = _Matcher(self.minimal, _NEWLINE)
        return self._split

    def _edges(self, line: str) -> str:
        body = line.rstrip("\r")
        cr = line[len(body):]
        if len(body) < MIN_PART:
            return line
        core = body.strip()
        if len(core) >= MIN_PART and core[:MIN_PART] in self._grams and any(core in f for f in self.pieces):
            return body.replace(core, REDACTED) + cr
        head = 0
        for f, i in self._grams.get(body[:MIN_PART], ()):
            if body.startswith(f[i:]):
                head = max(head, len(f) - i)
        tail = 0
        for f, i in self._grams.get(body[-MIN_PART:], ()):
            end = i + MIN_PART
            if body.endswith(f[:end]):
                tail = max(tail, end)
        if not head and body[:MIN_EDGE] in self._ends_head:
            head = next((k for k in range(MIN_PART - 1, MIN_EDGE - 1, -1)
                         if body[:k] in self._ends and not body[k:k + 1].isalnum()), 0)
        if not tail and body[-MIN_EDGE:] in self._starts_tail:
            tail = next((k for k in range(MIN_PART - 1, MIN_EDGE - 1, -1)
                         if body[-k:] in self._starts and not body[-k - 1:-k].isalnum()), 0)
        if not head and not tail:
            return line
        if head + tail >= len(body):
            return REDACTED + cr
        middle = body[head:len(body) - tail] if tail else body[head:]
        return (REDACTED if head else "") + middle + (REDACTED if tail else "") + cr


@functools.lru_cache(maxsize=64)
def _compiled(values: tuple[str, ...]) -> Redaction:
    return Redaction(values)


@functools.lru_cache(maxsize=256)
def _as_given(values: tuple[str, ...]) -> Redaction:
    return _compiled(tuple(sorted({v for v in values if v and len(v) >= MIN_VALUE})))


def redaction(values: Iterable[str]) -> Redaction:
    """The (cached) compiled redaction of ``values`` (looked up as given first: that is cheap)."""
    return _as_given(tuple(values))


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every form of each secret value in ``text`` with ``[redacted]`` (see `Redaction`)."""
    return redaction(secrets)(text)


def redact_lines(redact: Callable[[str], str], lines: Iterable[str]) -> list[str]:
    """Lines redacted as one text, then split back: a secret a command printed across several
    lines (``fold``) is found whole (line by line it would not be)."""
    given = list(lines)
    return redact("\n".join(given)).split("\n") if given else []
