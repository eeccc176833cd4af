"""Escaping of text from outside the profile, one function per format it lands in.

Outside text is anything the profile did not write: server answers, Prometheus label values,
ssh source and step output, journal fields (a journal file may be damaged or planted), user
and host names, typed notes. Every such value is escaped for the format it is put into, so it
shows as the characters it holds and never as markup: no forged line in a report, no link with
disguised text, no image beacon, no mention, no table cell or code block broken out of.

Every function here is *inline*: its result never contains a line break. A newline in the
value shows as ``⏎`` (one value never starts a new line, whatever it holds), and other control
characters (terminal escape sequences included) as ``�``. What cannot be escaped in a format is
said at its function.
"""

from __future__ import annotations

import re

NEWLINE_MARK = " ⏎ "
CONTROL_MARK = "\ufffd"

_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# terminal escape sequences carry no text: CSI (colours, cursor moves), OSC (titles, hyperlinks),
# and the two-character escapes
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")


def one_line(text: object) -> str:
    """Plain text on one line: terminal escape sequences removed (a command's colours), line
    breaks as ``⏎``, any other control character (ESC, BEL, bidi overrides, …) as ``�``; tabs
    are kept. For plain-text formats (email bodies, ADF text nodes) and the base of every
    function below."""
    s = text if isinstance(text, str) else str(text)
    return _CONTROLS.sub(CONTROL_MARK, _LINE_BREAKS.sub(NEWLINE_MARK, _ANSI.sub("", s)))


def header(text: object) -> str:
    """An email header value: one line, whitespace runs folded to one space (no header injection)."""
    return " ".join(one_line(text).replace(NEWLINE_MARK, " ").split())


def terminal(text: object) -> str:
    """Text printed to a terminal: one line, no escape sequence (a sequence is removed, a lone
    ESC or C1 control shown as ``�``), so outside text cannot move the cursor, retitle the
    window, plant a hyperlink or rewrite lines already printed."""
    return one_line(text)


# CommonMark: every ASCII punctuation character may be backslash-escaped. These are the ones
# that start or end markup inline (emphasis, code, links, images, HTML, autolinks, entities,
# GFM tables and strikethrough).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>!|~&#])")
_MD_LIST_START = re.compile(r"^(\s*)(\d*)([-+=.)])")


def markdown(text: object) -> str:
    """Inline Markdown (CommonMark + GFM): markup characters backslash-escaped, the start of an
    ordered or bullet list defused, autolinks (``http://``, ``www.``) broken so that only the
    text shows. The value renders as exactly the characters it holds."""
    s = _MD_SPECIAL.sub(r"\\\1", one_line(text))
    s = _MD_LIST_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}", s)
    s = re.sub(r"(?i)(?<=[a-z]):(?=//)", r"\\:", s)          # scheme:// → scheme\://
    return re.sub(r"(?i)\b(www)\.", r"\1\\.", s)             # www. → www\.


def markdown_code(text: object) -> str:
    """A Markdown code span holding ``text`` literally: a backtick fence longer than any run of
    backticks inside (the value cannot close it), padded when it starts or ends with one."""
    s = one_line(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ") and s.strip()) else ""
    return f"{fence}{pad}{s}{pad}{fence}" if s else "` `"


# Jira wiki markup (REST API v2 comments): a backslash escapes a markup character. A backslash
# itself cannot be escaped that way (``\\`` is a forced line break): it is written as the
# entity ``&#92;``, as pandoc's Jira writer does.
_JIRA_SPECIAL = re.compile(r"[\\*_+^~?{}\[\]|!#]|(?<![^\W_])-|-(?![^\W_])")
"""Markup characters; a ``-`` only where it can open or close ``-struck-`` (not between two
letters or digits: ``web-1``, ``2024-05-01`` and ``horizon-pause`` stay as they are)."""


def jira(text: object) -> str:
    """Inline Jira wiki markup: every markup character (``* _ - + ^ ~ ? { } [ ] | ! #``)
    backslash-escaped, so no mention ``[~user]``, link ``[text|url]``, image ``!x!``, macro
    ``{code}``, effect (``*bold*``, ``-struck-``) or table cell can form.

    A bare ``http://…`` in the value shows as itself (Jira may make it clickable, with the
    URL as its text: never disguised)."""
    return _JIRA_SPECIAL.sub(lambda m: "&#92;" if m.group() == "\\" else "\\" + m.group(), one_line(text))


def jira_code(text: object) -> str:
    """Inline monospace in Jira wiki markup: ``{{…}}`` around the escaped value (Jira still
    interprets markup inside ``{{ }}``, so the value is escaped the same way)."""
    s = jira(text)
    return "{{" + s + "}}" if s else "{{ }}"


def slack(text: object) -> str:
    """Slack mrkdwn: ``&``, ``<`` and ``>`` as entities (Slack's documented escaping), so no link
    ``<url|text>``, mention ``<@U…>`` or broadcast ``<!channel>`` can form; one line.

    Slack offers no escape for ``*_~``: a value holding them may change emphasis, never a link,
    a mention or the lines of the message."""
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_multiline(text: object) -> str:
    """Slack mrkdwn for a value that is lines by design (each line escaped as `slack`)."""
    s = text if isinstance(text, str) else str(text)
    return "\n".join(slack(line) for line in s.split("\n"))


_RICH_TAG = re.compile(r"(\\*)(\[[a-zA-Z#/@$!=:.\-][^\[\]]*?\])")


def rich(text: object) -> str:
    """Rich/Textual console markup: every ``[`` that could open a tag (``[bold]``, ``[link=…]``,
    ``[@click=…]``) backslash-escaped, as ``rich.markup.escape`` does; one line. (A value ending
    in a backslash written right before a tag of the caller's would escape that tag: put a space
    or other text between them.)"""
    s = one_line(text)

    def esc(m: re.Match[str]) -> str:
        backslashes, tag = m.group(1), m.group(2)
        return f"{backslashes}{backslashes}\\{tag}"

    return _RICH_TAG.sub(esc, s)


def html(text: object) -> str:
    """HTML text or a quoted attribute value: ``& < > " '`` as entities, on one line (escape
    sequences removed, controls as ``�``), so a value never opens a tag, closes an attribute or
    starts a script."""
    return (one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def html_url(url: object) -> str | None:
    """An ``href`` value: only ``http:`` and ``https:`` URLs (no ``javascript:``/``data:``), escaped
    as `html`; None for anything else (show it as text instead)."""
    s = one_line(url).strip()
    if not re.match(r"(?i)^https?://[^\s]+$", s):
        return None
    return html(s)
