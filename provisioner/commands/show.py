"""`provisioner show [PLANFILE] [--json]`: print the state, or a saved plan (render.outputs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.console import Console


def run(*, console: Console, planfile: str | None, json: bool, state: str) -> int:
    if planfile is not None:
        from provisioner.render.outputs import show_saved

        return show_saved(console, planfile, as_json=json)
    from provisioner.state import StateStore
    from provisioner.state.codec import dumps, encode
    from provisioner.state.model import FORMAT_VERSION
    from provisioner.state.view import state_lines

    store = StateStore(state)
    current = store.load()
    exists = store.exists() or bool(current.entries)
    if json:
        # The state's own JSON: it holds no secret. No state: an empty document, not an
        # invented lineage.
        text = (
            encode(current).decode("utf-8")
            if exists
            else dumps({"version": FORMAT_VERSION, "resources": {}})
        )
        console.out(text.rstrip("\n"))
        return 0
    if not exists:
        console.out(f"No state: {state} does not exist.")
        return 0
    pending = (
        " (includes an interrupted apply's journal, saved by the next run)"
        if store.journal_pending()
        else ""
    )
    n = len(current)
    console.out(
        f"# State {state}: serial {current.serial}, lineage {current.lineage}, "
        f"{n} resource{'' if n == 1 else 's'}{pending}"
    )
    lines = state_lines(current)
    if lines:
        console.out()
    for line in lines:
        console.out(line)
    return 0
