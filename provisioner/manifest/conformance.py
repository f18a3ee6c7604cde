"""A fast, strict test that a manifest document satisfies the schema, for the common valid case.

jsonschema costs about 0.2 ms per connection, too much for 5000 of them on every plan, so valid
documents are recognised here and only the others go through the schema (which then words the
errors). The patterns are the schema's own; the tests check both that they are and that this
never accepts what the schema refuses.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner import kinds

ADDRESS = re.compile(r"[a-z][a-z0-9_-]{0,62}")
SANDBOX = re.compile(r"[a-z0-9][a-z0-9-]{0,255}")
ENV_REFERENCE = re.compile(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}")
TEXT = re.compile(r"(?:[^$]|\$\$\{|\$(?!\{)|\$\{env:[A-Za-z_][A-Za-z0-9_]*\})*", re.DOTALL)
_TOP_KEYS = frozenset({"version", "sandbox", "connections"})
_CONNECTION_KEYS = frozenset({"type", "name", "description", "protect", "auth"})
_AUTH_KEYS = frozenset({"specName", "params"})


def conforms(root: Any) -> bool:
    """True when the document certainly satisfies the schema (False says nothing more)."""
    if not isinstance(root, dict) or not root.keys() <= _TOP_KEYS:
        return False
    version = root.get("version")
    if type(version) is not int or version != 1:
        return False
    if "sandbox" in root and not _matches(SANDBOX, root["sandbox"]):
        return False
    connections = root.get("connections")
    if not isinstance(connections, dict) or not connections:
        return False
    registry = kinds.registry()
    for address, connection in connections.items():
        if not isinstance(address, str) or not ADDRESS.fullmatch(address):
            return False
        if not isinstance(connection, dict) or not connection.keys() <= _CONNECTION_KEYS:
            return False
        kind_name = connection.get("type")
        kind = registry.get(kind_name) if isinstance(kind_name, str) else None
        name = connection.get("name")
        if kind is None or not _matches(TEXT, name) or not name:
            return False
        if "description" in connection and not _matches(TEXT, connection["description"]):
            return False
        if "protect" in connection and not isinstance(connection["protect"], bool):
            return False
        auth = connection.get("auth")
        if not isinstance(auth, dict) or auth.keys() != _AUTH_KEYS:
            return False
        spec = kind.auth_specs.get(auth["specName"]) if isinstance(auth["specName"], str) else None
        params = auth["params"]
        if spec is None or not isinstance(params, dict):
            return False
        if not spec.required <= params.keys() <= spec.params:
            return False
        for key, value in params.items():
            if not _matches(ENV_REFERENCE if key in spec.secret else TEXT, value):
                return False
    return True


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None
