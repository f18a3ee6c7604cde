"""The machine-readable plan (`plan --json`, `show PLANFILE --json`), described by schemas/plan.schema.json.

The document is the plan's one data form (provisioner/plan_data.py), the same one a saved plan
holds under `plan`; this module only writes it as text.
"""

from __future__ import annotations

import json

from provisioner.plan import Plan
from provisioner.plan_data import FORMAT_VERSION, actions, document, iso
from provisioner.render import escape

__all__ = ["FORMAT_VERSION", "actions", "document", "iso", "render"]


def render(plan: Plan) -> str:
    """The JSON text: 2-space indent, stable key order, trailing newline; control and format
    characters inside strings as \\uXXXX escapes (escape.json_text)."""
    return escape.json_text(json.dumps(document(plan), indent=2, ensure_ascii=False)) + "\n"
