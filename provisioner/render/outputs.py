"""Where a plan goes: the chosen rendering on stdout, $GITHUB_STEP_SUMMARY, and a saved plan file."""

from __future__ import annotations

import os
from collections.abc import Sequence

from provisioner.console import Console
from provisioner.plan import Plan
from provisioner.render import escape
from provisioner.state import State


def emit(console: Console, plan: Plan, *, as_json: bool = False, as_markdown: bool = False) -> None:
    """Print the plan as JSON, as Markdown (also appended to $GITHUB_STEP_SUMMARY), or as text;
    its warnings go to stderr too (stdout may be a document)."""
    for warning in plan.warnings:
        console.err(console.style("Warning: ", "yellow", "bold", stream="err") + escape.plain(warning))
    if as_json:
        from provisioner.render import json

        console.out(json.render(plan).rstrip("\n"))
    elif as_markdown:
        from provisioner.render import markdown

        comment = markdown.render(plan)
        console.out(comment)
        append_step_summary(console, comment)
    else:
        from provisioner.render import text

        console.out("\n".join(text.render(console, plan)))  # one write, not one per line


def append_step_summary(console: Console, markdown: str) -> None:
    """Append to the GitHub Actions job summary when the runner names one (a warning if it fails)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip("\n") + "\n\n")
    except OSError as exc:
        console.err(
            f"Warning: could not append the plan to GITHUB_STEP_SUMMARY ({target}: "
            f"{exc.strerror or exc}); the plan above is complete."
        )


def save_plan(
    console: Console,
    plan: Plan,
    *,
    out: str,
    paths: Sequence[str],
    sandbox: str | None,
    emulator: bool,
    state: State,
    endpoint: str,
    quiet: bool = False,
) -> None:
    """Write the saved plan to `out`; tell the user how to apply it (on stderr if stdout is data)."""
    from provisioner import planfile

    saved = planfile.build(
        plan,
        paths=paths,
        sandbox=sandbox,
        emulator=emulator,
        salt=state.salt,
        state_saved=state.serial > 0,
        endpoint=endpoint,
    )
    planfile.save(out, saved)
    message = f"Saved the plan to {out}. To perform exactly these actions, run: provisioner apply {out}"
    if quiet:
        console.err(message)
    else:
        console.out()
        console.out(message)


def show_saved(console: Console, path: str, *, as_json: bool = False) -> int:
    """`show PLANFILE`: the saved plan as text (with what it was made against) or as JSON."""
    from provisioner import planfile

    saved = planfile.load(path)
    plan = saved.plan
    if as_json:
        emit(console, plan, as_json=True)
        return 0
    where = escape.plain(" ".join(saved.paths) or ".")
    console.out(
        f"# Saved plan {escape.plain(path)}: org {escape.plain(plan.org)}, manifests {where}"
        + (f" (--sandbox {escape.plain(saved.sandbox)})" if saved.sandbox else "")
        + f", state lineage {plan.lineage} serial {plan.serial}"
        + (" (against the emulator)" if saved.emulator else "")
    )
    console.out()
    emit(console, plan)
    return 0
