"""Hostile input: whatever a manifest holds, validate and plan end in 0 or in 1 with sentences, never a traceback."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.manifest import references
from tests.reliability.helpers import figure

HOSTILE = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_files = itertools.count()

# -- strategies --------------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
NAME = st.one_of(st.text(min_size=1, max_size=40), JUNK)
ADDRESS = st.one_of(st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True), st.text(max_size=12))
PARAMS = st.dictionaries(
    st.sampled_from(["s3AccessKey", "s3SecretKey", "bucketName", "folderPath", "other", ""]),
    st.one_of(
        st.sampled_from(["AKIA", "${env:TEST_S3_SECRET}", "${env:UNSET_VAR}", "${env:", "${x}"]),
        JUNK,
    ),
    max_size=5,
)
AUTH = st.one_of(
    st.fixed_dictionaries(
        {
            "specName": st.one_of(st.sampled_from(["Access Key", "Role"]), JUNK),
            "params": st.one_of(PARAMS, JUNK),
        }
    ),
    JUNK,
)
ENTRY = st.one_of(
    st.fixed_dictionaries(
        {"type": st.one_of(st.just("amazon-s3"), JUNK), "name": NAME, "auth": AUTH},
        optional={"description": JUNK, "protect": JUNK, "extra": JUNK},
    ),
    JUNK,
)
GOOD_ENTRY = st.fixed_dictionaries(
    {
        "type": st.just("amazon-s3"),
        "name": st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30
        ),
        "auth": st.just(
            {
                "specName": "Access Key",
                "params": {"s3AccessKey": "AKIA", "s3SecretKey": "${env:TEST_S3_SECRET}"},
            }
        ),
    },
    optional={"description": st.text(max_size=30), "protect": st.booleans()},
)
GOOD_ADDRESS = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
VALID_MANIFEST = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "connections": st.dictionaries(GOOD_ADDRESS, GOOD_ENTRY, min_size=1, max_size=4).map(
            lambda conns: {a: {**e, "name": f"{e['name']} {a}"} for a, e in conns.items()}
        ),
    },
    optional={"sandbox": st.sampled_from(["prod", "dev"])},
)
MUTATED_MANIFEST = st.fixed_dictionaries(
    {
        "version": st.one_of(st.just(1), st.just(1), JUNK),
        "connections": st.one_of(
            st.dictionaries(GOOD_ADDRESS, GOOD_ENTRY, max_size=4),
            st.dictionaries(ADDRESS, st.one_of(GOOD_ENTRY, ENTRY), max_size=4),
            JUNK,
        ),
    },
    optional={"sandbox": st.one_of(st.sampled_from(["prod", "dev", "nope"]), JUNK), "x": JUNK},
)
# Valid but for names that may repeat: validate must refuse exactly what plan refuses.
COLLIDING_MANIFEST = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "connections": st.dictionaries(
            GOOD_ADDRESS,
            GOOD_ENTRY.map(lambda e: e)
            | st.sampled_from(["Same", "Other"]).map(
                lambda n: {
                    "type": "amazon-s3",
                    "name": n,
                    "auth": {
                        "specName": "Access Key",
                        "params": {"s3AccessKey": "AKIA", "s3SecretKey": "${env:TEST_S3_SECRET}"},
                    },
                }
            ),
            min_size=2,
            max_size=4,
        ),
    }
)
MANIFEST = st.one_of(VALID_MANIFEST, COLLIDING_MANIFEST, MUTATED_MANIFEST)

# YAML text: anchors, aliases, merge keys, tags, flow collections, recursion, directives.
YAML_PIECES = st.sampled_from(
    [
        "version: 1\n",
        "connections:\n",
        "  a:\n",
        "  b:\n",
        "    type: amazon-s3\n",
        "    name: &n Alpha\n",
        "    name: *n\n",
        "    name: *missing\n",
        "    auth: &auth\n",
        "    auth: *auth\n",
        "      specName: Access Key\n",
        "      params:\n",
        "        s3AccessKey: AKIA\n",
        "        s3SecretKey: ${env:TEST_S3_SECRET}\n",
        "    <<: *auth\n",
        "  <<: *n\n",
        "  c: &c [*c]\n",
        "  d: &d {x: *d}\n",
        "    name: !!binary aGVsbG8=\n",
        "    name: !!python/object:os.system ls\n",
        "    name: !custom x\n",
        "%YAML 1.1\n---\n",
        "---\n",
        "...\n",
        "\t",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        "&a ",
        "*a",
        "? ",
        "| ",
        "> ",
        "'",
        '"',
        "#",
        "\ufeff",
        "\x00",
        "\x85",
        "é",
        "\U0001f600",
        "\r\n",
        "\n",
        " ",
        "connections: &x {a: *x}\n",
        (
            "version: 1\nconnections: {a: {type: amazon-s3, name: A, auth: {specName: Access Key,"
            " params: {s3AccessKey: K, s3SecretKey: S}}}}\n"
        ),
    ]
)
YAML_TEXT = st.lists(YAML_PIECES, max_size=40).map("".join)


def billion_laughs(levels: int, width: int, where: str) -> str:
    lines = ["version: 1", "x0: &x0 " + repr(["lol"] * width).replace("'", '"')]
    for i in range(1, levels):
        lines.append(f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * width) + "]")
    top = f"*x{levels - 1}"
    if where == "name":
        lines.append(
            "connections:\n  a:\n    type: amazon-s3\n    name: "
            + top
            + "\n    auth: {specName: Access Key, params: {s3AccessKey: "
            + top
            + ", s3SecretKey: s}}"
        )
    else:
        lines.append("connections: " + top)
    return "\n".join(lines) + "\n"


LAUGHS = st.builds(
    billion_laughs, st.integers(2, 12), st.integers(2, 12), st.sampled_from(["name", "connections"])
)

# -- the property ------------------------------------------------------------------------------


def _write(root: Path, data: bytes) -> str:
    path = root / f"m{next(_files)}.yaml"
    path.write_bytes(data)
    return str(path)


def _check(result: Any, *, valid_codes: tuple[int, ...] = (0, 1)) -> None:
    text = result.out + result.err
    assert result.code in valid_codes, text
    assert "Traceback" not in text
    assert "internal error (" not in text, text
    if result.code == 1:
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert lines, "exit 1 without a word"
        assert any(line.startswith("Error: ") for line in lines), result.err
        assert all(len(line) < 2000 for line in lines)  # sentences, not a dump of the input


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_S3_SECRET", "s3-secret")
    monkeypatch.setenv("TEST_S3_KEY", "AKIA")
    return tmp_path


@pytest.fixture
def planner(emulator_factory: Any, env_for: Any) -> Any:
    return env_for(emulator_factory())


SEEN: dict[str, int] = {}


def _tally(kind: str, code: int) -> None:
    SEEN[f"{kind}:{code}"] = SEEN.get(f"{kind}:{code}", 0) + 1


@pytest.mark.slow
@HOSTILE
@given(data=st.binary(max_size=3000))
def test_random_bytes(data: bytes, root: Path, cli: Any) -> None:
    path = _write(root, data)
    r = cli("validate", path)
    _check(r)
    _tally("bytes", r.code)


@pytest.mark.slow
@HOSTILE
@given(text=YAML_TEXT)
def test_yaml_with_anchors_aliases_tags_and_recursion(
    text: str, root: Path, cli: Any, planner: Any
) -> None:
    path = _write(root, text.encode("utf-8", "surrogatepass"))
    for command in ("validate", "plan"):
        r = cli(command, path)
        _check(r)
        _tally(f"yaml-{command}", r.code)


@pytest.mark.slow
@HOSTILE
@given(doc=MANIFEST)
def test_manifests_of_wrong_types(doc: dict[str, Any], root: Path, cli: Any, planner: Any) -> None:
    path = _write(root, yaml.safe_dump(doc, allow_unicode=True).encode())
    v = cli("validate", path)
    _check(v)
    p = cli("plan", path)
    _check(p)
    if doc.get("sandbox", "prod") in ("prod", "dev"):
        # Offline checks are the same in both: what validate passes, plan plans (and the reverse).
        assert v.code == p.code, (v, p)
    _tally("manifest-validate", v.code)
    _tally("manifest-plan", p.code)
    if p.code == 0:
        # Whatever the names and descriptions hold, the machine-readable plan stays parseable
        # and carries them exactly; the Markdown plan renders.
        j = cli("plan", path, "--json")
        assert j.code == 0, j.err
        names = json.dumps(json.loads(j.out), ensure_ascii=False)
        for entry in doc["connections"].values():
            # As the manifest means it: `$${` writes a literal `${`.
            shown, _unset = references.resolve(references.parse(entry["name"])[0], {})
            assert json.dumps(shown, ensure_ascii=False)[1:-1] in names
        m = cli("plan", path, "--markdown")
        _check(m)
        assert m.code == 0


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=LAUGHS)
def test_billion_laughs(text: str, root: Path, cli: Any, planner: Any) -> None:
    path = _write(root, text.encode())
    for command in ("validate", "plan"):
        r = cli(command, path)
        _check(r)
        _tally(f"laughs-{command}", r.code)


ODD_FILES: dict[str, Any] = {
    "over 5 MB": lambda: b"version: 1\nconnections:\n" + b"  # padding\n" * 600_000,
    "one 20 MB line": lambda: b'version: 1\nconnections: "' + b"x" * 20_000_000 + b'"\n',
    "100000 nested lists": lambda: b"version: 1\nconnections: " + b"[" * 100_000 + b"]" * 100_000,
    "2000 nested maps": lambda: (
        b"version: 1\nconnections:\n" + b"".join(b"  " * (i + 1) + b"k:\n" for i in range(2000))
    ),
    "non-UTF-8": lambda: b'version: 1\nconnections:\n  a:\n    name: "\xff\xfe"\n',
    "UTF-16": lambda: "version: 1\nconnections: {}\n".encode("utf-16"),
    "NUL bytes": lambda: b"version: 1\x00\nconnections: {}\n",
    "a directory named like a manifest": lambda: None,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ODD_FILES))
def test_huge_and_odd_files_through_a_real_process(name: str, root: Path, run_cli: Any) -> None:
    data = ODD_FILES[name]()
    if data is None:
        (root / "dir.yaml").mkdir()
        target = "dir.yaml/"
        (root / "dir.yaml" / "inner.yml").write_bytes(b"\xff")
    else:
        target = _write(root, data)
    for command in ("validate", "plan"):
        r = run_cli(command, target, cwd=root)
        assert r.returncode == 1, (name, command, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
        assert "internal error (" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("Error: "), (name, r.stderr)
        assert len(r.stderr) < 5000, (name, "the message echoes the input")


@pytest.fixture(scope="module", autouse=True)
def _record_figures() -> Iterator[None]:
    """After the module's tests (not a test: it checks nothing): how many hostile inputs each
    property saw."""
    yield
    if SEEN:
        figure("hostile", **{k.replace(":", "_exit"): v for k, v in sorted(SEEN.items())})


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    ["version: 1\nconnections: &c\n  a: *c\n", billion_laughs(10, 10, "name")],
    ids=["recursive", "laughs"],
)
def test_a_few_hostile_files_through_a_real_process_with_debug(
    text: str, root: Path, run_cli: Any
) -> None:
    path = _write(root, text.encode())
    for command in ("validate", "plan"):
        r = run_cli("--debug", command, path, cwd=root)
        assert r.returncode == 1
        assert "Traceback" not in r.stderr, r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith("Error: ")
