"""The manifest's JSON Schema, assembled from the kinds' fragments.

    python -m provisioner.kinds.schema > schemas/manifest.schema.json

writes the committed copy that editors and check-jsonschema read; a test checks that the
committed file is exactly what this module builds, so the kinds stay its only source.

A kind's fragment (kinds/NAME.schema.json) holds:
    section     the schema of its manifest section (one per section: its first kind's)
    entry_name  the $defs name of one entry of the section
    entry       the schema of one entry (kinds of one section with a `type:` share it:
                the `type` enum and one if/then per type are added here)
    when_type   what a `type:` adds to the entry (for sections with several types)
    $defs       further definitions
"""

from __future__ import annotations

import json
from typing import Any

from provisioner import kinds
from provisioner.kinds.schema_files import fragment


def build() -> dict[str, Any]:
    common = fragment("common")
    registry = kinds.all_kinds()
    defs: dict[str, Any] = dict(common.pop("$defs"))
    properties: dict[str, Any] = dict(common.pop("properties"))
    sections = registry.sections()
    for section in sections:
        members = [k for k in registry.in_section(section)]
        parts = [k.schema_defs() for k in members]
        first = next(p for p in parts if "section" in p)
        properties[section] = first["section"]
        entry = json.loads(json.dumps(first["entry"]))
        typed = [(k, p) for k, p in zip(members, parts, strict=True) if k.type_name is not None]
        if typed:
            entry["properties"]["type"]["enum"] = sorted(str(k.type_name) for k, _ in typed)
            entry["allOf"] = [
                {
                    "if": {"required": ["type"], "properties": {"type": {"const": k.type_name}}},
                    "then": p["when_type"],
                }
                for k, p in sorted(typed, key=lambda kp: str(kp[0].type_name))
            ]
        defs[first["entry_name"]] = entry
        for p in parts:
            defs.update(p.get("$defs", {}))
    schema: dict[str, Any] = {
        "$schema": common.pop("$schema"),
        "$id": common.pop("$id"),
        "title": common.pop("title"),
        "description": common.pop("description"),
        "type": "object",
        "additionalProperties": False,
    }
    if len(sections) == 1:
        schema["required"] = ["version", sections[0]]
    else:
        schema["required"] = ["version"]
        schema["anyOf"] = [{"required": [s]} for s in sections]
    schema["properties"] = properties
    schema["$defs"] = defs
    return schema


def text() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(text(), end="")
