"""`state list|show|rm` and `show` through the real CLI, on state files the tests write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from state_helpers import ORG, SENTINEL, assert_no_sentinel, make_entry

from provisioner.state import State, StateStore

STATE = Path("provisioner.state.json")


@pytest.fixture
def saved() -> State:
    """prod: conn-1, shared; dev: shared (so `shared` is ambiguous without a sandbox)."""
    store = StateStore(STATE)
    state = store.load()
    salt = state.salt
    return store.save(
        state.with_changes(
            put=[
                make_entry(1, salt=salt, description="Raw campaign exports", protect=True),
                make_entry("s", salt=salt, address="shared"),
                make_entry("s", salt=salt, address="shared", sandbox="dev"),
            ]
        )
    )


def test_state_list_prints_one_resource_per_line_in_a_stable_order(saved: State, cli: Any) -> None:
    result = cli("state", "list")
    assert (result.code, result.err) == (0, "")
    assert result.out == ("dev/shared   id-dev-s\nprod/conn-1  id-prod-1\nprod/shared  id-prod-s\n")
    assert cli("state", "list", "--sandbox", "dev").out == "dev/shared  id-dev-s\n"
    assert cli("state", "list", "--sandbox", "stage").out == ""


def test_state_list_names_the_org_when_the_state_holds_several(saved: State, cli: Any) -> None:
    store = StateStore(STATE)
    store.save(saved.with_entry(make_entry(2, org="OTHER@AdobeOrg")))
    labels = [
        "OTHER@AdobeOrg/prod/conn-2",
        f"{ORG}/dev/shared",
        f"{ORG}/prod/conn-1",
        f"{ORG}/prod/shared",
    ]
    width = len(f"{ORG}/prod/conn-1")
    ids = ["id-prod-2", "id-dev-s", "id-prod-1", "id-prod-s"]
    assert cli("state", "list").out.splitlines() == [
        f"{label.ljust(width)}  {id_}" for label, id_ in zip(labels, ids, strict=True)
    ]
    assert cli("state", "show", f"{ORG}/prod/conn-1").code == 0


def test_state_list_without_a_state_prints_nothing(cli: Any) -> None:
    assert (cli("state", "list").code, cli("state", "list").out) == (0, "")


def test_state_show_prints_the_entry_with_secrets_masked(saved: State, cli: Any) -> None:
    result = cli("state", "show", "conn-1")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "prod/conn-1:\n"
        f'  org                     = "{ORG}"\n'
        '  id                      = "id-prod-1"\n'
        '  type                    = "amazon-s3"\n'
        '  name                    = "Connection 1"\n'
        '  description             = "Raw campaign exports"\n'
        '  etag                    = "\\"etag-1\\""\n'
        '  connectionSpec          = "ecadc60c-7455-4d87-84dc-2a0e293d997b" version "1.0"\n'
        '  auth.specName           = "Access Key"\n'
        '  auth.params.bucketName  = "acme"\n'
        '  auth.params.s3AccessKey = "AKIA1"\n'
        "  auth.params.s3SecretKey = (sensitive)\n"
        "  protect                 = true\n"
    )
    assert cli("state", "show", "prod/conn-1").out == result.out
    assert cli("state", "show", "conn-1", "--sandbox", "prod").out == result.out


def test_an_address_in_several_sandboxes_needs_one_named(saved: State, cli: Any) -> None:
    result = cli("state", "show", "shared")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "Error: the address shared is in several sandboxes of the state provisioner.state.json "
        "(dev/shared, prod/shared); name one as SANDBOX/ADDRESS or with --sandbox\n"
    )
    assert "id-dev-s" in cli("state", "show", "dev/shared").out
    assert "id-prod-s" in cli("state", "show", "shared", "--sandbox", "prod").out
    result = cli("state", "show", "dev/shared", "--sandbox", "prod")
    assert result.err == (
        "Error: the address dev/shared names sandbox dev but --sandbox says prod; give only "
        "one of them\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("state", "show", "nope"),
            (
                "no resource 'nope' in the state provisioner.state.json; 'provisioner state list' "
                "shows what it holds"
            ),
        ),
        (
            ("state", "rm", "conn-1", "--sandbox", "dev"),
            (
                "no resource 'conn-1' in sandbox dev in the state provisioner.state.json; "
                "'provisioner state list' shows what it holds"
            ),
        ),
        (
            ("state", "show", "a/b/c/d"),
            (
                "'a/b/c/d' is not a state address; give ADDRESS, SANDBOX/ADDRESS or "
                "ORG/SANDBOX/ADDRESS as 'provisioner state list' prints them"
            ),
        ),
        (
            ("state", "show", "conn-1", "--state", "other.json"),
            (
                "no resource 'conn-1' in the state other.json: the file does not exist; give the "
                "right file with --state"
            ),
        ),
    ],
)
def test_unknown_addresses_are_one_clear_error(
    saved: State, cli: Any, argv: tuple[str, ...], message: str
) -> None:
    before = STATE.read_bytes()
    result = cli(*argv)
    assert (result.code, result.out, result.err) == (1, "", f"Error: {message}\n")
    assert STATE.read_bytes() == before


def test_state_rm_forgets_the_entry_and_says_the_connection_stays(saved: State, cli: Any) -> None:
    before = STATE.read_bytes()
    result = cli("state", "rm", "prod/shared")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Removed prod/shared (connection id-prod-s) from the state provisioner.state.json; "
        "the connection itself was not deleted in Flow Service.\n"
        "While a manifest still declares it, the next plan adopts it again by name; "
        "'provisioner import' puts it under another address.\n"
    )
    after = StateStore(STATE).load()
    assert after.serial == saved.serial + 1
    assert sorted(e.key[1:] for e in after) == [("dev", "shared"), ("prod", "conn-1")]
    assert Path("provisioner.state.json.backup").read_bytes() == before
    assert not Path("provisioner.state.json.lock").exists()


def test_show_prints_the_state_grouped_by_org_and_sandbox(saved: State, cli: Any) -> None:
    result = cli("show")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == (
        f"# State provisioner.state.json: serial 1, lineage {saved.lineage}, 3 resources"
    )
    assert [line for line in lines if line.startswith("#") or line.endswith(":")] == [
        lines[0],
        f"# org {ORG}, sandbox dev",
        "dev/shared:",
        f"# org {ORG}, sandbox prod",
        "prod/conn-1:",
        "prod/shared:",
    ]
    assert '  description             = "Raw campaign exports"' in lines
    assert result.out.count("(sensitive)") == 3


def test_show_json_prints_the_state_itself(saved: State, cli: Any) -> None:
    result = cli("show", "--json")
    assert result.code == 0
    assert result.out == STATE.read_text(encoding="utf-8")
    assert json.loads(result.out)["serial"] == 1


def test_show_without_a_state(cli: Any) -> None:
    assert cli("show").out == "No state: provisioner.state.json does not exist.\n"
    result = cli("show", "--json")
    assert json.loads(result.out) == {"version": 1, "resources": {}}


def test_no_secret_in_any_file_or_output(saved: State, cli: Any, tmp_path: Path) -> None:
    outputs = [
        cli(*argv)
        for argv in (
            ("state", "list"),
            ("state", "show", "conn-1"),
            ("show",),
            ("show", "--json"),
            ("state", "rm", "conn-1"),
        )
    ]
    for result in outputs:
        assert result.code == 0
        assert SENTINEL not in result.out + result.err
    assert Path("provisioner.state.json.backup").exists()
    assert_no_sentinel(tmp_path)
