"""`cockpit.escape`: a hostile corpus through every format, checked by real parsers where one
exists here (markdown-it-py in GFM mode with linkify, Rich's markup parser, the email package)."""

from __future__ import annotations

import html
import re
from email.message import EmailMessage

import pytest
from markdown_it import MarkdownIt
from rich.markup import render as rich_render

from cockpit import escape

CORPUS = [
    "plain words",
    "line one\nline two\r\nline three\rline four\u2028five\x85six",
    "- 12:00:00 **rollback ended** after 5m — **met**",
    "a | b | c",
    "[link](http://evil.example/x)",
    "![img](http://evil.example/beacon.png)",
    "{code}rm -rf /{code}",
    "[~admin] [~accountid:123]",
    "<!channel> <!here> <@U123>",
    "<http://evil.example|click here>",
    "*bold* _it_ ~strike~ -struck- +ins+ ^sup^ ??cite??",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    "`code` ``double`` ```fence```",
    "\\*not bold\\* \\\\ trailing \\",
    "http://evil.example www.evil.example",
    "1. ordered\n# heading\n> quote\n---",
    "&amp; &lt;b&gt; &#60;",
    "!beacon.png! [text|http://evil.example] h1. title",
    "\x1b[31mred\x1b[0m \x07bell \u202eevil\u202c",
    "[bold]x[/bold] [link=http://evil.example]y[/link] [@click=app.quit]z[/]",
    "",
]

# markdown-it in GFM mode (tables, strikethrough, linkify: bare URLs become links as on GitHub)
MD = MarkdownIt("gfm-like")


def _md_text(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()


@pytest.mark.parametrize("value", CORPUS)
def test_every_format_keeps_one_line(value: str) -> None:
    for fn in (escape.one_line, escape.header, escape.terminal, escape.markdown, escape.markdown_code,
               escape.jira, escape.jira_code, escape.slack, escape.rich):
        out = fn(value)
        assert not re.search(r"[\n\r\v\f\x85\u2028\u2029\x1b\x07\u202e]", out), (fn.__name__, out)


@pytest.mark.parametrize("value", CORPUS)
def test_markdown_renders_as_the_exact_text_and_nothing_else(value: str) -> None:
    rendered = MD.render("x " + escape.markdown(value))
    tags = set(re.findall(r"<(\w+)", rendered))
    assert tags <= {"p"}, (value, rendered)      # no a, img, em, strong, code, s, table, script, h1, ol
    assert _md_text(rendered) == ("x " + escape.one_line(value)).strip()


@pytest.mark.parametrize("value", CORPUS)
def test_markdown_code_span_cannot_be_closed(value: str) -> None:
    rendered = MD.render("x " + escape.markdown_code(value) + " y")
    assert re.findall(r"<(\w+)", rendered) == ["p", "code"], rendered
    inner = html.unescape(re.search(r"<code>(.*)</code>", rendered).group(1))   # type: ignore[union-attr]
    assert inner.strip() == escape.one_line(value).strip()


@pytest.mark.parametrize("value", CORPUS)
def test_markdown_table_cell_keeps_its_row(value: str) -> None:
    from cockpit.report import MARKDOWN

    row = MARKDOWN.table_row([escape.markdown(value), escape.markdown_code(value), "end"])
    table = "\n".join([*MARKDOWN.table_head(["a", "b", "c"]), row])
    rendered = MD.render(table)
    body = rendered.split("<tbody>")[1]
    assert body.count("<td>") == 3 and "<a " not in body and "<img" not in body, rendered


JIRA_SPECIAL = set("*_+^~?{}[]|!#")


@pytest.mark.parametrize("value", CORPUS)
def test_jira_escapes_every_markup_character(value: str) -> None:
    out = escape.jira(value)
    unescaped = re.sub(r"\\.", "", out).replace("&#92;", "")
    assert not (set(unescaped) & JIRA_SPECIAL), (value, out)
    assert "\\\\" not in out                                   # never a forced line break
    assert not re.search(r"(^|\W)-|-($|\W)", unescaped), out   # no -struck- can open or close
    restored = re.sub(r"\\(.)", r"\1", out).replace("&#92;", "\\")
    assert restored == escape.one_line(value)


@pytest.mark.parametrize("value", CORPUS)
def test_slack_cannot_form_links_mentions_or_broadcasts(value: str) -> None:
    out = escape.slack(value)
    assert "<" not in out and ">" not in out
    assert html.unescape(out) == escape.one_line(value)
    lines = escape.slack_multiline("first\n" + value).split("\n")
    assert lines == ["first"] + [escape.slack(line) for line in value.split("\n")]


@pytest.mark.parametrize("value", CORPUS)
def test_rich_markup_shows_the_text_unstyled(value: str) -> None:
    text = rich_render(escape.rich(value))
    assert text.plain == escape.one_line(value)
    assert not text.spans, (value, text.spans)


@pytest.mark.parametrize("value", CORPUS)
def test_email_header_is_one_folded_line(value: str) -> None:
    msg = EmailMessage()
    msg["Subject"] = escape.header(value)   # the email package refuses a header holding a newline
    assert "\n" not in str(msg["Subject"])


def test_terminal_sequences_are_removed_not_shown() -> None:
    assert escape.terminal("\x1b[32mok\x1b[0m") == "ok"
    assert escape.terminal("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\") == "click"   # OSC 8 link
    assert escape.terminal("\x1b]0;new title\x07done") == "done"
    assert escape.terminal("a\x1bcb\x9b2Jc") == "abc"                                          # RIS, C1 CSI
    assert escape.terminal("bell\x07 \u202eevil") == "bell\ufffd \ufffdevil"
