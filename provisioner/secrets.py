"""`Secret`: a string wrapper that never shows its value by accident; and log redaction."""

from __future__ import annotations

import re
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
