"""`Secret`: a string wrapper that never shows its value by accident; and log redaction."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

MASK = "(sensitive)"

# Keys whose values are redacted wherever they appear in a logged body or form.
_SECRET_KEY = re.compile(r"(secret|token|password|session|authorization)", re.IGNORECASE)


class Secret:
    """A secret value. str(), repr() and f-strings show `(sensitive)`; `.reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:  # never pickled into anything by accident
        raise TypeError("a Secret cannot be pickled")


def is_secret_key(key: str) -> bool:
    """True for keys that name secret material (s3SecretKey, s3SessionToken, client_secret...)."""
    return bool(_SECRET_KEY.search(key))


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every secret-looking key's value masked."""
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str) and is_secret_key(path.rsplit("/", 1)[-1]) and "value" in value:
            # A JSON Patch operation on a secret parameter.
            return {k: (MASK if k == "value" else v) for k, v in value.items()}
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, Secret):
        return MASK
    return value


# Values shorter than this are not masked inside text (they would mask ordinary words).
MIN_ECHO = 4

_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_REPR_SHORT = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hex(byte: int) -> str:
    """Two hex digits of `byte`, matching either case."""
    return "".join(f"[{d:X}{d:x}]" for d in (byte >> 4, byte & 15))


def _char_forms(char: str) -> list[str]:
    """Regular expressions for one character of a secret, in every encoding the tool sees."""
    code = ord(char)
    forms = [re.escape(char)]
    utf8 = char.encode("utf-8", "surrogatepass")
    forms.append("".join("%" + _hex(b) for b in utf8))  # URL/percent-encoded, either case
    forms.append("".join("%25" + _hex(b) for b in utf8))  # percent-encoded twice
    if code >= 0x80:  # UTF-8 read as Latin-1 (a text/plain answer without a charset)
        forms.append(re.escape(utf8.decode("latin-1")))
    if char == " ":
        forms.append(r"\+")  # form encoding
    if code < 0x10000:
        units = [code]
    else:
        units = [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    forms.append("".join(r"\\u" + "".join(_hex(u >> s & 0xFF) for s in (8, 0)) for u in units))
    for table in (_JSON_SHORT, _REPR_SHORT):
        if char in table:
            forms.append(re.escape(table[char]))
    if code < 0x100:
        forms.append(r"\\x" + _hex(code))  # as a repr shows it
    return forms


@functools.lru_cache(maxsize=64)
def _echo_pattern(value: str) -> re.Pattern[str]:
    parts = []
    for char in value:
        # Longest first: a raw "%" must not win over the "%25" that encodes it.
        forms = sorted(dict.fromkeys(_char_forms(char)), key=len, reverse=True)
        parts.append(forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


def mask_echoes(text: str, secrets: Iterable[str]) -> str:
    """`text` with every echo of a secret value masked: raw, JSON-escaped (\\" \\/ \\uXXXX),
    URL/form-encoded (%XX in either case, + for a space, or encoded twice), as a Python repr
    shows it, its UTF-8 read as Latin-1, or any mix of these character by character."""
    for value in secrets:
        if value and len(value) >= MIN_ECHO:
            text = _echo_pattern(value).sub(MASK, text)
    return text
