"""The PR-comment Markdown: snapshots, masking, the 65,535-character cap, $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provisioner.render import markdown
from tests.pipeline.plans import every_action, many_creates, nothing

SNAPSHOTS = Path(__file__).parent / "snapshots"


def snapshot(name: str, text: str) -> None:
    """Compare with snapshots/NAME; UPDATE_SNAPSHOTS=1 rewrites it (then review the git diff)."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8")


def test_every_action_snapshot() -> None:
    snapshot("every_action.md", markdown.render(every_action()))


def test_no_changes_snapshot() -> None:
    snapshot("no_changes.md", markdown.render(nothing()))


def test_values_cannot_break_out_of_table_or_code_block() -> None:
    text = markdown.render(every_action())
    # a name holding ``` gets a longer fence; a | or < in a value is escaped in the table
    assert '````diff\n! name = "Renamed in UI" -> "Rotated ```fence```"' in text
    assert "| Rotated &#96;&#96;&#96;fence&#96;&#96;&#96; |" in text
    assert text.count("<details>") == text.count("</details>") == 7


def test_secrets_are_masked() -> None:
    text = markdown.render(every_action())
    assert "+ auth.params.s3SecretKey = (sensitive)" in text
    assert "! auth.params.s3SecretKey = (sensitive value changed)" in text


@pytest.mark.parametrize("n", [1, 150, 151, 400, 3000])
def test_size_cap(n: int) -> None:
    text = markdown.render(many_creates(n))
    assert len(text.encode("utf-8")) <= markdown.LIMIT
    shown = text.count("<details>")
    rows = text.count("| create |")
    if shown == n:
        assert "not shown" not in text
    else:
        assert f"the details of {n - shown} resource" in text.lower()
        assert "65,535-character limit" in text
    assert rows == n or f"{n - rows} more row" in text
    if n == 1:
        assert shown == 1
    if n == 3000:
        assert shown < rows < n


def test_size_cap_snapshot_small_limit() -> None:
    """With a tiny limit the cut is easy to read: the rows that fit, then the note."""
    text = markdown.render(many_creates(40), limit=2500)
    assert len(text.encode("utf-8")) <= 2500
    snapshot("capped.md", text)


def test_cap_counts_bytes_not_characters() -> None:
    """A name of 3-byte characters: the cap holds in UTF-8 bytes, which GitHub never undercounts."""
    from dataclasses import replace

    plan = many_creates(300)
    plan = replace(plan, changes=tuple(replace(c, name="€" * 60) for c in plan.changes))
    text = markdown.render(plan)
    assert len(text) < markdown.LIMIT < len(text.encode("utf-8")) + 200
    assert len(text.encode("utf-8")) <= markdown.LIMIT
    assert "not shown" in text
