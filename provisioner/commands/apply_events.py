"""`apply --json`: one JSON object per line (NDJSON) on stdout, described by
schemas/apply-events.schema.json: a `plan` event, one `change` event per finished change, a
`summary` event. Messages (warnings, errors) stay on stderr as sentences."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from provisioner.console import Console
from provisioner.render import escape

FORMAT_VERSION = "1.0"


def emit(console: Console, event: dict[str, Any]) -> None:
    line = json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    console.out(escape.json_text(line))


def plan_event(plan: Any) -> dict[str, Any]:
    return {
        "type": "plan",
        "format_version": FORMAT_VERSION,
        "org": plan.org,
        "sandboxes": list(plan.sandboxes),
        "has_changes": plan.has_changes,
        "summary": plan.counts(),
        "changes": sum(1 for c in plan.changes if c.is_change),
    }


def change_event(outcome: Any) -> dict[str, Any]:
    c = outcome.change
    return {
        "type": "change",
        "address": c.address,
        "sandbox": c.sandbox,
        "kind": c.kind,
        "action": c.action.value,
        "result": outcome.done,
        "id": outcome.id,
        "error": outcome.error,
    }


def reporter(console: Console) -> Callable[[Any], None]:
    def report(outcome: Any) -> None:
        if outcome.done != "refreshed":  # a state record brought up to date: no change
            emit(console, change_event(outcome))

    return report


def finish(console: Console, outcomes: list[Any], *, strict: bool) -> bool:
    """The summary event; True when the apply did everything it planned (with `strict`, a
    skipped delete of a saved plan is a failure)."""
    done = Counter(o.done for o in outcomes if o.ok and o.done != "refreshed")
    failed = sum(1 for o in outcomes if not o.ok)
    ok = not failed and not (strict and done["skipped"])
    emit(
        console,
        {
            "type": "summary",
            "ok": ok,
            "created": done["created"],
            "updated": done["updated"],
            "replaced": done["replaced"],
            "deleted": done["deleted"],
            "adopted": done["adopted"],
            "skipped": done["skipped"],
            "failed": failed,
        },
    )
    return ok
