"""The fast path of manifest validation: the schema itself, compiled by fastschema.

`conforms(doc)` is True when the document certainly satisfies schemas/manifest.schema.json;
only the other documents go through jsonschema (which words the errors). The regular
expressions below are the ones the loader uses for addresses, sandboxes and ${env:}
references; a test checks that they are the schema's own patterns.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from provisioner.manifest import fastschema

ADDRESS = re.compile(r"[a-z][a-z0-9_-]{0,62}")
SANDBOX = re.compile(r"[a-z0-9][a-z0-9-]{0,255}")
ENV_REFERENCE = re.compile(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*\}")
TEXT = re.compile(r"(?:[^$]|\$\$\{|\$(?!\{)|\$\{env:[A-Za-z_][A-Za-z0-9_]*\})*", re.DOTALL)


@functools.lru_cache(maxsize=1)
def _check() -> fastschema.Check:
    from provisioner import schemas_loader

    return fastschema.compile(schemas_loader.load("manifest.schema.json"))


def conforms(root: Any) -> bool:
    """True when the document certainly satisfies the schema (False says nothing more)."""
    return _check()(root)
