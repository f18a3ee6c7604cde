"""The escape functions themselves: every control or format character, each medium."""

from __future__ import annotations

import io
import json
import sys
import unicodedata

from provisioner.console import Console
from provisioner.render import escape
from tests.hardening.corpus import HOSTILE


def test_every_control_and_format_character_is_escaped() -> None:
    missed = [
        hex(cp)
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        and escape.UNSAFE.search(escape.plain(chr(cp)))
    ]
    assert missed == []


def test_plain_is_visible_and_unambiguous_when_quoted() -> None:
    assert escape.plain("a\x1b[31mb\nc\u202e") == "a\\x1b[31mb\\nc\\u202e"
    assert escape.plain('a\\x1b"', quote=True) == '"a\\\\x1b\\""'
    assert escape.plain("é ü 漢字 emoji 😀") == "é ü 漢字 emoji 😀"


def test_markdown_neutralises_mentions_links_html_pipes() -> None:
    out = escape.markdown("@team [a](https://e.x) ![i](x) <b> | `c` $m$ #1 www.e.x a@b.co")
    assert " #&#8203;1 " in out
    for raw in ("@team", "[a]", "](", "<b>", "|", "`", "$", "www.", "https:", "a@b"):
        assert raw not in out
    assert escape.markdown("TESTORG@AdobeOrg and snake_case-name") == (
        "TESTORG@AdobeOrg and snake_case-name"
    )


def test_json_text_stays_valid_and_equal() -> None:
    for s in HOSTILE:
        doc = escape.json_text(json.dumps({"v": s}, ensure_ascii=False))
        assert json.loads(doc) == {"v": s}
        assert escape.UNSAFE.search(doc) is None


def test_console_escapes_what_reaches_it_but_keeps_its_own_colours() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    console = Console(stdout=out, stderr=io.StringIO())
    console.color = True
    console.out(console.style("ok", "green") + " evil\x1b]0;t\x07 \u202e")
    assert out.getvalue() == "\x1b[32mok\x1b[0m evil\\x1b]0;t\\x07 \\u202e\n"
