"""manifest.load and `provisioner validate` on real files: records, sandboxes, files, digest, env."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from provisioner import manifest
from provisioner.errors import ManifestError
from provisioner.model import Location
from provisioner.secrets import Secret
from tests.conftest import REPO, Result
from tests.manifest.manifest_helpers import ENV, VALID

Write = Callable[[str, str | bytes], str]


def load(*paths: str, **kwargs: object) -> manifest.Manifests:
    options: dict[str, object] = {
        "sandbox_override": None,
        "default_sandbox": "prod",
        "environ": ENV,
    }
    options.update(kwargs)
    return manifest.load(list(paths), **options)  # type: ignore[arg-type]


def iam(address: str, name: str | None = None, sandbox: str | None = None) -> str:
    name = name or f"Catalog {address}"  # names are unique per sandbox, like addresses
    head = "version: 1\n" + (f"sandbox: {sandbox}\n" if sandbox else "")
    return (
        head
        + f"connections:\n  {address}:\n    type: amazon-s3\n    name: {name}\n"
        + "    auth: {specName: IAMRole Based, params: {bucketName: catalog}}\n"
    )


def test_a_valid_manifest_becomes_resources(write: Write) -> None:
    write("a.yaml", VALID)
    loaded = load("a.yaml")
    assert loaded.files == ("a.yaml",)
    assert loaded.warnings == ()
    (resource,) = loaded.resources
    assert resource.address == "marketing-landing"
    assert resource.kind == "amazon-s3"
    assert resource.name == "Marketing landing bucket"
    assert resource.description == "Raw campaign exports"
    assert resource.protect is False
    assert resource.document["auth"]["specName"] == "Access Key"
    assert resource.sandbox == "prod"
    assert resource.location == Location("a.yaml", 3, 3)
    assert dict(resource.document["auth"]["params"]) == {
        "bucketName": "acme-marketing",
        "s3AccessKey": "AKIAFAKEACCESSKEY",
        "s3SecretKey": Secret("fake-secret-value-123"),
    }
    secret = resource.document["auth"]["params"]["s3SecretKey"]
    assert isinstance(secret, Secret) and secret.reveal() == "fake-secret-value-123"
    assert isinstance(resource.document["auth"]["params"]["s3AccessKey"], str)
    assert "fake-secret-value-123" not in repr(resource)


def test_optional_fields_default(write: Write) -> None:
    write("a.yaml", iam("catalog"))
    (resource,) = load("a.yaml").resources
    assert (resource.description, resource.protect) == ("", False)
    assert dict(resource.document["auth"]["params"]) == {"bucketName": "catalog"}


def test_protect_true(write: Write) -> None:
    write("a.yaml", iam("catalog").replace("    auth:", "    protect: true\n    auth:"))
    assert load("a.yaml").resources[0].protect is True


@pytest.mark.parametrize(
    ("override", "in_file", "expected"),
    [("dev", None, "dev"), (None, "stage", "stage"), (None, None, "fallback"), ("stage", "stage", "stage")],
)
def test_sandbox_precedence(
    write: Write, override: str | None, in_file: str | None, expected: str
) -> None:
    write("a.yaml", iam("catalog", sandbox=in_file))
    loaded = load("a.yaml", sandbox_override=override, default_sandbox="fallback")
    assert loaded.resources[0].sandbox == expected


def test_an_override_never_contradicts_the_file(write: Write) -> None:
    # issue 11: `--sandbox dev` once moved a `sandbox: prod` file's resources to dev silently
    write("a.yaml", iam("catalog", sandbox="stage"))
    with pytest.raises(ManifestError) as caught:
        load("a.yaml", sandbox_override="dev", default_sandbox="fallback")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("a.yaml", 2, "sandbox")
    assert "sandbox: stage" in problem.message and "--sandbox dev" in problem.message


def test_references_inside_text_and_the_escape(write: Write) -> None:
    write(
        "a.yaml",
        "version: 1\nconnections:\n  catalog:\n    type: amazon-s3\n"
        "    name: Catalog ${env:YEAR} $${not-a-ref}\n"
        "    auth:\n      specName: IAMRole Based\n"
        "      params:\n        bucketName: cat-${env:YEAR}\n",
    )
    (resource,) = load("a.yaml", environ={"YEAR": "2026"}).resources
    assert resource.name == "Catalog 2026 ${not-a-ref}"
    assert resource.document["auth"]["params"]["bucketName"] == "cat-2026"


def test_unset_variable_is_an_error_naming_variable_file_and_line(write: Write) -> None:
    write("a.yaml", VALID)
    with pytest.raises(ManifestError) as caught:
        load("a.yaml", environ={"MARKETING_S3_ACCESS_KEY": "AKIA"})
    assert [str(p) for p in caught.value.problems] == [
        (
            "a.yaml:11:22: connections.marketing-landing.auth.params.s3SecretKey: uses "
            "${env:MARKETING_S3_SECRET_KEY}, but the environment variable MARKETING_S3_SECRET_KEY "
            "is not set; export it and run again."
        )
    ]


def test_without_resolving_unset_variables_are_warnings(write: Write) -> None:
    write("a.yaml", VALID)
    loaded = load("a.yaml", environ={"MARKETING_S3_ACCESS_KEY": "AKIA"}, resolve_env=False)
    assert [str(w) for w in loaded.warnings] == [
        (
            "a.yaml:11:22: connections.marketing-landing.auth.params.s3SecretKey: uses "
            "${env:MARKETING_S3_SECRET_KEY}, but the environment variable MARKETING_S3_SECRET_KEY "
            "is not set here; plan and apply will need it."
        )
    ]
    params = loaded.resources[0].document["auth"]["params"]
    assert params["s3AccessKey"] == "AKIA"
    assert params["s3SecretKey"] == Secret("${env:MARKETING_S3_SECRET_KEY}")


def test_validate_needs_no_secrets_and_warns(cli: Callable[..., Result], write: Write) -> None:
    write("a.yaml", VALID)
    result = cli("validate", "a.yaml")
    assert result.code == 0
    assert result.out == "Success! 1 connection in 1 file is valid.\n"
    assert result.err.splitlines() == [
        (
            "Warning: a.yaml:10:22: connections.marketing-landing.auth.params.s3AccessKey: uses "
            "${env:MARKETING_S3_ACCESS_KEY}, but the environment variable MARKETING_S3_ACCESS_KEY "
            "is not set here; plan and apply will need it."
        ),
        (
            "Warning: a.yaml:11:22: connections.marketing-landing.auth.params.s3SecretKey: uses "
            "${env:MARKETING_S3_SECRET_KEY}, but the environment variable MARKETING_S3_SECRET_KEY "
            "is not set here; plan and apply will need it."
        ),
    ]


def test_validate_is_quiet_when_the_environment_is_set(
    cli: Callable[..., Result], write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    write("a.yaml", VALID)
    write(
        "b.yaml",
        iam("catalog")
        + "  other:\n    type: amazon-s3\n    name: Other\n"
        + "    auth: {specName: IAMRole Based, params: {bucketName: other}}\n",
    )
    result = cli("validate", "a.yaml", "b.yaml")
    assert (result.code, result.err) == (0, "")
    assert result.out == "Success! 3 connections in 2 files are valid.\n"
    assert "fake-secret-value-123" not in result.out


def test_examples_validate(cli: Callable[..., Result]) -> None:
    result = cli("validate", str(REPO / "examples"))
    assert result.code == 0
    assert result.out == "Success! 7 resources in 2 files are valid.\n"  # the chain too
    assert len(result.err.splitlines()) == 4  # the four EXAMPLE_* variables are unset here
    assert all(line.startswith("Warning: ") for line in result.err.splitlines())


def test_every_problem_of_every_file_in_one_run(cli: Callable[..., Result], write: Write) -> None:
    write("a.yaml", "version: 2\nconnections:\n  A:\n")
    write("b.yaml", "- not a mapping\n")
    write("c.yaml", iam("catalog").replace("amazon-s3", "s3"))
    write("d.yaml", iam("fine"))
    result = cli("validate")  # the current directory
    assert result.code == 1
    assert result.err.splitlines() == [
        "a.yaml:1:10: version: must be 1, not 2; this provisioner reads version 1 manifests.",
        (
            "a.yaml:3:3: connections.A: 'A' is not a valid address; use 1 to 63 lowercase "
            "letters, digits, '-' or '_', starting with a letter."
        ),
        "a.yaml:3:5: connections.A: is empty; write the connection's type, name and auth under it.",
        "b.yaml:1:1: the top level must be a mapping with 'version' and 'connections', not a list.",
        "c.yaml:4:11: connections.catalog.type: unknown type 's3'; the known types are: amazon-s3.",
        "Error: 5 problems found.",
    ]


def test_duplicate_address_across_files_names_both_places(
    cli: Callable[..., Result], write: Write
) -> None:
    write("one.yaml", iam("catalog"))
    write("two.yaml", "# the same address again\n" + iam("catalog", name="Other"))
    result = cli("validate", "one.yaml", "two.yaml")
    assert result.code == 1
    assert result.err.splitlines() == [
        (
            "two.yaml:4:3: connections.catalog: the address 'catalog' is also declared at "
            "one.yaml:3:3 for sandbox 'prod'; an address must be unique per sandbox across all "
            "manifest files, so rename or remove one of them."
        ),
        "Error: 1 problem found.",
    ]


def test_same_address_in_different_sandboxes_is_fine_until_overridden(write: Write) -> None:
    write("prod.yaml", iam("catalog", sandbox="prod"))
    write("dev.yaml", iam("catalog", sandbox="dev"))
    write("one.yaml", iam("catalog"))
    write("two.yaml", iam("catalog"))
    loaded = load("prod.yaml", "dev.yaml")
    assert [(r.address, r.sandbox) for r in loaded.resources] == [
        ("catalog", "prod"),
        ("catalog", "dev"),
    ]
    with pytest.raises(ManifestError) as caught:
        load("one.yaml", "two.yaml", sandbox_override="qa")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("two.yaml", 3, "connections.catalog")
    assert "also declared at one.yaml:3:3 for sandbox 'qa'" in problem.message


def test_directories_files_and_order(write: Write) -> None:
    write("dir/b.yml", iam("bee"))
    write("dir/a.yaml", iam("ay"))
    write("dir/notes.txt", "not a manifest")
    write("dir/.hidden.yaml", "broken: [")
    write("dir/sub/c.yaml", "ignored: not read, subdirectories are not searched")
    write("z.yaml", iam("zed"))
    loaded = load("z.yaml", "dir/", "dir/a.yaml")
    assert loaded.files == ("z.yaml", "dir/a.yaml", "dir/b.yml")  # a file reached twice: once
    assert [r.address for r in loaded.resources] == ["zed", "ay", "bee"]
    assert [r.location.file for r in loaded.resources] == ["z.yaml", "dir/a.yaml", "dir/b.yml"]


def test_no_paths_means_the_current_directory(write: Write) -> None:
    write("b.yaml", iam("bee"))
    write("a.yml", iam("ay"))
    assert load().files == ("a.yml", "b.yaml")


@pytest.mark.parametrize(
    ("argv", "setup", "message"),
    [
        (
            ["validate", "missing.yaml"],
            None,
            (
                "Error: 'missing.yaml' does not exist; give manifest files (*.yaml, *.yml) or "
                "directories holding them."
            ),
        ),
        (
            ["validate", "empty-dir"],
            "empty-dir/readme.txt",
            (
                "Error: no manifests found: 'empty-dir' holds no *.yaml or *.yml file; give "
                "manifest files or a directory holding them."
            ),
        ),
        (
            ["validate"],
            "readme.txt",
            (
                "Error: no manifests found: the current directory holds no *.yaml or *.yml file; "
                "give manifest files or a directory holding them."
            ),
        ),
    ],
)
def test_paths_that_hold_no_manifest(
    cli: Callable[..., Result], write: Write, argv: list[str], setup: str | None, message: str
) -> None:
    if setup:
        write(setup, "text")
    result = cli(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines() == [message]


def test_digest_follows_names_and_bytes(write: Write, tmp_path: Path) -> None:
    write("a.yaml", iam("ay"))
    write("b.yaml", iam("bee"))
    first = load("a.yaml", "b.yaml").digest
    assert len(first) == 64 and int(first, 16) >= 0
    assert load("a.yaml", "b.yaml").digest == first
    assert load("b.yaml", "a.yaml").digest != first  # order matters
    write("b.yaml", iam("bee") + "# a comment changes the bytes\n")
    changed = load("a.yaml", "b.yaml").digest
    assert changed != first
    (tmp_path / "b.yaml").rename(tmp_path / "c.yaml")
    assert load("a.yaml", "c.yaml").digest != changed  # same bytes, another name


def test_anchors_aliases_and_merge_keys_in_moderation(write: Write) -> None:
    write(
        "a.yaml",
        "version: 1\nconnections:\n"
        "  first: &base\n    type: amazon-s3\n    name: First\n"
        "    auth: &auth {specName: IAMRole Based, params: {bucketName: shared}}\n"
        "  second:\n    <<: *base\n    name: Second\n"
        "  third:\n    type: amazon-s3\n    name: Third\n    auth: *auth\n",
    )
    loaded = load("a.yaml")
    assert [(r.address, r.name, r.document["auth"]["params"]["bucketName"]) for r in loaded.resources] == [
        ("first", "First", "shared"),
        ("second", "Second", "shared"),
        ("third", "Third", "shared"),
    ]
    # a problem inside a merged value is reported where it is written
    write(
        "b.yaml",
        "version: 1\nconnections:\n  x: &b {type: amazon-s3, name: X, auth: {}}\n  y:\n    <<: *b\n",
    )
    with pytest.raises(ManifestError) as caught:
        load("b.yaml")
    assert sorted({(p.line, p.path) for p in caught.value.problems}) == [
        (3, "connections.x.auth.params"),
        (3, "connections.x.auth.specName"),
        (3, "connections.y.auth.params"),
        (3, "connections.y.auth.specName"),
    ]


def test_utf8_bom_is_accepted(write: Write) -> None:
    write("a.yaml", b"\xef\xbb\xbf" + iam("catalog").encode())
    assert [r.address for r in load("a.yaml").resources] == ["catalog"]


def test_validate_does_not_need_jsonschema_for_help(run_cli: Callable[..., object]) -> None:
    """`provisioner --help` stays light: the manifest machinery is imported only by commands."""
    import subprocess
    import sys

    code = (
        "import sys; from provisioner.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('jsonschema', 'yaml', 'provisioner.manifest') if m in sys.modules]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
