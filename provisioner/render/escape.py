"""Text from manifests or the service, made harmless for the medium it is printed in.

One function per medium; every renderer passes every untrusted string through the one for its
medium, once, at the point where the string is put into the output:

    plain(text)      terminals, plain-text output and error messages: control characters (C0,
                     DEL, C1), Unicode format characters (bidi controls such as U+202E,
                     zero-width characters, tag characters), line and paragraph separators and
                     lone surrogates are written as visible escapes (\\x1b, \\n, \\u202e).
                     quote=True gives a "double-quoted" value with \\ and " escaped too, so the
                     value can be read back unambiguously.
    markdown(text)   a pull-request comment (table cells, prose, HTML such as <summary>): the
                     plain() escapes, then HTML, pipes, backticks, brackets, backslashes and $
                     as character references, and a zero-width space after @ and # and inside
                     URL schemes, so no mention, reference, link, image, autolink, HTML tag,
                     math, table column or code span can start from the text. Inside a fenced
                     code block use plain() (and a fence longer than any run of backticks).
    json_text(doc)   a JSON document already made by json.dumps: the same characters as
                     plain() escapes, as \\uXXXX escapes, so the document stays valid JSON that
                     decodes to the same values.
"""

from __future__ import annotations

import re

# Unicode categories Cc, Cf, Zl, Zp and Cs (Unicode 14, Python 3.11); a test checks that every
# such character of the running Python is matched.
_OTHER_UNSAFE = (
    "\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[\x00-\x1f{_OTHER_UNSAFE}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHER_UNSAFE}]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def plain(text: str, *, quote: bool = False, keep_newlines: bool = False) -> str:
    """`text` for a terminal or plain text: every control or format character as an escape.

    quote=True: the value in double quotes with backslash and double quote escaped as well.
    keep_newlines=True: line breaks stay (only for the console's last line of defence, which
    prints text the tool itself laid out in lines).
    """
    if quote:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_visible, text)


_MD_CHARS = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    "[": "&#91;",
    "]": "&#93;",
    "\\": "&#92;",
    "$": "&#36;",
}
_ZWSP = "&#8203;"
# One pass: the characters above, and what starts a mention (@team), an issue reference (#12),
# an e-mail autolink or an URL autolink (https://, www., mailto:): a zero-width space after it.
_MD = re.compile(
    r"[&<>|`\[\]\\$]"
    r"|(?<!\w)@(?=\w)|#(?=\w)"  # a mention (after a non-word character), a reference (#1, o/r#1)
    r"|@(?=[\w.+-]+\.\w)"  # an e-mail address (autolinked): org ids such as 0@AdobeOrg are not
    r"|(?i:\b(?:https?|ftp|mailto|xmpp|www)(?=[:.]))",
    re.ASCII,
)


def _md(match: re.Match[str]) -> str:
    found = match.group()
    return _MD_CHARS.get(found) or found + _ZWSP


def markdown(text: str) -> str:
    """`text` for inline Markdown or HTML in a GitHub comment: it renders as plain(text)."""
    return _MD.sub(_md, plain(text))


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(document: str) -> str:
    """A JSON text (from json.dumps) with every character plain() escapes as a \\uXXXX escape.

    Outside strings a JSON text holds only ASCII punctuation, digits, letters and whitespace
    (space, \\n between lines of an indented document), so only string contents change.
    """
    if _UNSAFE_BUT_NEWLINE.search(document) is None:
        return document
    return _UNSAFE_BUT_NEWLINE.sub(_json_escape, document)
