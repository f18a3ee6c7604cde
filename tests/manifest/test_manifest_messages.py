"""`provisioner validate` on bad manifests: the exact sentence, place and path of each problem."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from tests.conftest import Result

CONNECTION_HEAD = "version: 1\nconnections:\n  a:\n    type: amazon-s3\n    name: A\n"
IAM = "    auth: {specName: IAMRole Based, params: {bucketName: b}}\n"


def access_key(**params: str) -> str:
    lines = "".join(f"        {k}: {v}\n" for k, v in params.items())
    return CONNECTION_HEAD + "    auth:\n      specName: Access Key\n      params:\n" + lines


CASES: dict[str, tuple[str, list[str]]] = {
    "yaml syntax": (
        "version: 1\nconnections:\n  a: b: c\n",
        [
            (
                "m.yaml:3:7: this is not valid YAML: mapping values are not allowed in this "
                "context; fix the syntax here."
            )
        ],
    ),
    "unclosed flow list": (
        "version: 1\nconnections: {a: [1, 2}\n",
        [
            (
                "m.yaml:2:23: this is not valid YAML: did not find expected ',' or ']' "
                "(while parsing a flow sequence at line 2); fix the syntax here."
            )
        ],
    ),
    "empty file": (
        "",
        [
            (
                "m.yaml:1:1: the file is empty; a manifest needs 'version: 1' and a "
                "'connections:' mapping."
            )
        ],
    ),
    "only comments": (
        "# nothing yet\n",
        [
            (
                "m.yaml:1:1: the file is empty; a manifest needs 'version: 1' and a "
                "'connections:' mapping."
            )
        ],
    ),
    "top level is a list": (
        "- a\n- b\n",
        [
            "m.yaml:1:1: the top level must be a mapping with 'version' and 'connections', not a list."
        ],
    ),
    "top level is text": (
        "hello\n",
        [
            (
                "m.yaml:1:1: the top level must be a mapping with 'version' and 'connections', "
                "not text."
            )
        ],
    ),
    "duplicate key": (
        CONNECTION_HEAD + "    name: B\n" + IAM,
        [
            (
                "m.yaml:6:5: connections.a.name: the key 'name' appears twice in this mapping "
                "(also at line 5); YAML would silently keep only the last one, so remove or "
                "rename one of them."
            )
        ],
    ),
    "duplicate address in one file": (
        CONNECTION_HEAD + IAM + "  a:\n    type: amazon-s3\n    name: A2\n" + IAM,
        [
            (
                "m.yaml:7:3: connections.a: the key 'a' appears twice in this mapping (also at "
                "line 3); YAML would silently keep only the last one, so remove or rename one of them."
            )
        ],
    ),
    "unknown key with a suggestion": (
        "version: 1\nconnections:\n  a:\n    type: amazon-s3\n    nmae: A\n" + IAM,
        [
            (
                "m.yaml:3:3: connections.a.name: is missing; add the connection's name as it "
                "should appear in AEP."
            ),
            (
                "m.yaml:5:5: connections.a.nmae: unknown key 'nmae' (did you mean 'name'?); the "
                "keys allowed here are auth, description, name, protect, type."
            ),
        ],
    ),
    "unknown top-level key": (
        "version: 1\ncolour: red\nconnections:\n  a:\n    type: amazon-s3\n    name: A\n" + IAM,
        [
            (
                "m.yaml:2:1: colour: unknown key 'colour'; the keys allowed here are connections, "
                "dataflows, datasets, moved, sandbox, sources, targets, version."
            )
        ],
    ),
    "version missing": (
        "connections:\n  a:\n    type: amazon-s3\n    name: A\n" + IAM,
        ["m.yaml:1:1: version: is missing; add 'version: 1' at the top of the file."],
    ),
    "version 2": (
        CONNECTION_HEAD.replace("version: 1", "version: 2") + IAM,
        ["m.yaml:1:10: version: must be 1, not 2; this provisioner reads version 1 manifests."],
    ),
    "version quoted": (
        CONNECTION_HEAD.replace("version: 1", 'version: "1"') + IAM,
        ["m.yaml:1:10: version: must be 1, not the text \"1\"; write 'version: 1' without quotes."],
    ),
    "bad address": (
        "version: 1\nconnections:\n  Marketing.Landing:\n    type: amazon-s3\n    name: A\n" + IAM,
        [
            (
                "m.yaml:3:3: connections.Marketing.Landing: 'Marketing.Landing' is not a valid "
                "address; use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter."
            )
        ],
    ),
    "address too long": (
        f"version: 1\nconnections:\n  {'a' * 64}:\n    type: amazon-s3\n    name: A\n" + IAM,
        [
            (
                f"m.yaml:3:3: connections.{'a' * 64}: '{'a' * 64}' is not a valid address; use 1 to "
                "63 lowercase letters, digits, '-' or '_', starting with a letter."
            )
        ],
    ),
    "unknown type": (
        CONNECTION_HEAD.replace("amazon-s3", "amazon-s4") + IAM,
        [
            (
                "m.yaml:4:11: connections.a.type: unknown type 'amazon-s4' (did you mean "
                "'amazon-s3'?); the known types are: amazon-s3."
            )
        ],
    ),
    "name missing": (
        "version: 1\nconnections:\n  a:\n    type: amazon-s3\n" + IAM,
        [
            (
                "m.yaml:3:3: connections.a.name: is missing; add the connection's name as it "
                "should appear in AEP."
            )
        ],
    ),
    "name empty": (
        CONNECTION_HEAD.replace("name: A", 'name: ""') + IAM,
        [
            (
                "m.yaml:5:11: connections.a.name: is empty; give the connection's name as it "
                "should appear in AEP."
            )
        ],
    ),
    "name is a number": (
        CONNECTION_HEAD.replace("name: A", "name: 123") + IAM,
        [
            'm.yaml:5:11: connections.a.name: must be text, not the number 123; put it in quotes: "123".'
        ],
    ),
    "name is a date": (
        CONNECTION_HEAD.replace("name: A", "name: 2026-01-01") + IAM,
        [
            (
                "m.yaml:5:11: connections.a.name: must be text, not the date 2026-01-01; put it "
                'in quotes: "2026-01-01".'
            )
        ],
    ),
    "protect is text": (
        CONNECTION_HEAD + '    protect: "yes"\n' + IAM,
        [
            (
                'm.yaml:6:14: connections.a.protect: must be true or false, not the text "yes"; '
                "write true or false without quotes."
            )
        ],
    ),
    "unknown auth spec": (
        CONNECTION_HEAD + "    auth: {specName: Access key, params: {bucketName: b}}\n",
        [
            (
                "m.yaml:6:22: connections.a.auth.specName: unknown auth spec 'Access key' for "
                "amazon-s3 (did you mean 'Access Key'?); use one of: 'Access Key', 'IAMRole Based'."
            )
        ],
    ),
    "missing required param": (
        access_key(s3AccessKey="AKIAFAKE"),
        [
            (
                "m.yaml:8:7: connections.a.auth.params.s3SecretKey: is missing; 'Access Key' needs "
                "s3AccessKey and s3SecretKey."
            )
        ],
    ),
    "unknown param": (
        access_key(s3AccessKey="AKIAFAKE", s3SecretKey="${env:SECRET}", bucket="b", region="eu"),
        [
            (
                "m.yaml:11:9: connections.a.auth.params.bucket: unknown parameter 'bucket' for "
                "'Access Key' (did you mean 'bucketName'?); the parameters allowed are bucketName, "
                "folderPath, s3AccessKey, s3SecretKey, s3SessionToken, serviceUrl."
            ),
            (
                "m.yaml:12:9: connections.a.auth.params.region: unknown parameter 'region' for "
                "'Access Key'; the parameters allowed are bucketName, folderPath, s3AccessKey, "
                "s3SecretKey, s3SessionToken, serviceUrl."
            ),
        ],
    ),
    "param of the other auth spec": (
        CONNECTION_HEAD
        + "    auth: {specName: IAMRole Based, params: {bucketName: b, s3AccessKey: AKIA}}\n",
        [
            (
                "m.yaml:6:61: connections.a.auth.params.s3AccessKey: unknown parameter "
                "'s3AccessKey' for 'IAMRole Based'; the parameters allowed are bucketName."
            )
        ],
    ),
    "literal secret": (
        access_key(s3AccessKey="AKIAFAKE", s3SecretKey="hunter2-not-a-reference"),
        [
            (
                "m.yaml:10:22: connections.a.auth.params.s3SecretKey: is a secret and must be an "
                "${env:NAME} reference, not a literal, so it never reaches git; export it as an "
                "environment variable and write ${env:A_S3_SECRET_KEY}."
            )
        ],
    ),
    "literal session token that is a number": (
        access_key(s3AccessKey="AKIAFAKE", s3SecretKey="${env:S}", s3SessionToken="12345"),
        [
            (
                "m.yaml:11:25: connections.a.auth.params.s3SessionToken: is a secret and must be an "
                "${env:NAME} reference, not a literal, so it never reaches git; export it as an "
                "environment variable and write ${env:A_S3_SESSION_TOKEN}."
            )
        ],
    ),
    "secret with text around its reference": (
        access_key(s3AccessKey="AKIAFAKE", s3SecretKey="prefix-${env:SECRET}"),
        [
            (
                "m.yaml:10:22: connections.a.auth.params.s3SecretKey: is a secret and must be exactly "
                "one ${env:NAME} reference with nothing around it, so no part of it reaches git; "
                "write ${env:A_S3_SECRET_KEY}."
            )
        ],
    ),
    "empty secret": (
        access_key(s3AccessKey="AKIAFAKE", s3SecretKey=""),
        [
            (
                "m.yaml:10:21: connections.a.auth.params.s3SecretKey: is empty; it is a secret, so "
                "write an ${env:NAME} reference to the environment variable that holds it, e.g. "
                "${env:A_S3_SECRET_KEY}."
            )
        ],
    ),
    "reference without a name": (
        access_key(s3AccessKey="${env:}", s3SecretKey="${env:S}"),
        [
            (
                "m.yaml:9:22: connections.a.auth.params.s3AccessKey: the reference '${env:}' names "
                "no variable; write ${env:NAME}."
            )
        ],
    ),
    "reference in upper case": (
        access_key(s3AccessKey="${ENV:KEY}", s3SecretKey="${env:S}"),
        [
            (
                "m.yaml:9:22: connections.a.auth.params.s3AccessKey: '${ENV:KEY}' must use 'env' "
                "in lowercase: ${env:KEY}."
            )
        ],
    ),
    "reference to a bad name": (
        access_key(s3AccessKey="AKIA", s3SecretKey="${env:1KEY}"),
        [
            (
                "m.yaml:10:22: connections.a.auth.params.s3SecretKey: '1KEY' in '${env:1KEY}' is "
                "not a valid variable name; use letters, digits and '_', not starting with a digit."
            )
        ],
    ),
    "unclosed reference inside text": (
        access_key(s3AccessKey="AKIA", s3SecretKey="${env:S}", folderPath="exports/${env:YEAR"),
        [
            (
                "m.yaml:11:21: connections.a.auth.params.folderPath: the reference '${env:YEAR' is "
                "not closed; end it with '}'."
            )
        ],
    ),
    "other reference scheme": (
        CONNECTION_HEAD.replace("name: A", "name: ${file:name.txt}") + IAM,
        [
            (
                "m.yaml:5:11: connections.a.name: '${file:name.txt}' is not a reference; only "
                "${env:NAME} is supported."
            )
        ],
    ),
    "param is a number": (
        CONNECTION_HEAD + "    auth: {specName: IAMRole Based, params: {bucketName: 2026}}\n",
        [
            (
                "m.yaml:6:58: connections.a.auth.params.bucketName: must be text, not the number "
                '2026; put it in quotes: "2026".'
            )
        ],
    ),
    "param is a YAML boolean": (
        CONNECTION_HEAD + "    auth: {specName: IAMRole Based, params: {bucketName: on}}\n",
        [
            (
                "m.yaml:6:58: connections.a.auth.params.bucketName: must be text, not on (which "
                'YAML reads as true); put it in quotes: "on".'
            )
        ],
    ),
    "bad sandbox": (
        CONNECTION_HEAD.replace("version: 1\n", "version: 1\nsandbox: Prod\n") + IAM,
        [
            (
                "m.yaml:2:10: sandbox: 'Prod' is not a valid sandbox name; write the sandbox's "
                "all-lowercase name (letters, digits and '-'), e.g. prod."
            )
        ],
    ),
    "connections empty": (
        "version: 1\nconnections:\n",
        ["m.yaml:2:13: connections: is empty; declare at least one connection under it."],
    ),
    "connections an empty mapping": (
        "version: 1\nconnections: {}\n",
        ["m.yaml:2:14: connections: is empty; declare at least one connection under it."],
    ),
    "connections missing": (
        "version: 1\n",
        [
            (
                "m.yaml:1:1: connections: is missing; declare the connections under a "
                "'connections:' mapping (or the ingestion chain's datasets, sources, targets, "
                "dataflows)."
            )
        ],
    ),
    "connection is empty": (
        "version: 1\nconnections:\n  a:\n",
        [
            "m.yaml:3:5: connections.a: is empty; write the connection's type, name and auth under it."
        ],
    ),
    "auth is empty": (
        CONNECTION_HEAD + "    auth:\n",
        ["m.yaml:6:10: connections.a.auth: is empty; write its 'specName' and 'params' under it."],
    ),
    "two documents": (
        CONNECTION_HEAD + IAM + "---\nversion: 1\n",
        [
            (
                "m.yaml:7:1: a second YAML document starts here; a manifest file holds one "
                "document, so move it to a file of its own."
            )
        ],
    ),
    "unsupported tag": (
        CONNECTION_HEAD.replace("name: A", "name: !!binary QQ==") + IAM,
        [
            (
                "m.yaml:5:11: connections.a.name: the YAML tag !!binary is not supported in a "
                "manifest; remove it."
            )
        ],
    ),
    "alias without anchor": (
        "version: 1\nconnections:\n  a: *nope\n",
        [
            (
                "m.yaml:3:6: connections.a: the alias *nope has no anchor &nope before it; define "
                "the anchor first or write the value out."
            )
        ],
    ),
    "alias to itself": (
        "version: 1\nconnections: &c\n  a: *c\n",
        [
            (
                "m.yaml:3:6: connections.a: the alias *c refers to a value that contains it; a "
                "value cannot include itself, so write it out."
            )
        ],
    ),
    "control character": (
        "version: 1\nconnections:\n  a: \x07\n",
        [
            (
                "m.yaml:3:6: the file contains the control character U+0007, which YAML does not "
                "allow; remove it."
            )
        ],
    ),
    "type is a mapping": (
        CONNECTION_HEAD.replace("type: amazon-s3", "type: {kind: s3}") + IAM,
        ["m.yaml:4:11: connections.a.type: must be text, not a mapping."],
    ),
    "unquoted reference in a flow mapping": (
        CONNECTION_HEAD + "    auth: {specName: IAMRole Based, params: {bucketName: ${env:B}}}\n",
        [
            (
                "m.yaml:6:59: this is not valid YAML: did not find expected ',' or '}' (while "
                "parsing a flow mapping at line 6); inside {...} or [...] a value holding "
                "${env:NAME} must be quoted: '${env:NAME}'."
            )
        ],
    ),
    "list as a key": (
        "version: 1\n[a, b]: c\n",
        [
            (
                "m.yaml:1:1: connections: is missing; declare the connections under a "
                "'connections:' mapping (or the ingestion chain's datasets, sources, targets, "
                "dataflows)."
            ),
            (
                "m.yaml:2:1: a key must be plain text, not a list or a mapping; write a name "
                "before the colon."
            ),
        ],
    ),
}


# The pure-Python parser (PyYAML without libyaml) words a few syntax errors differently.
PURE_PYTHON_WORDING = {
    "mapping values are not allowed in this context": "mapping values are not allowed here",
    "did not find expected ',' or ']'": "expected ',' or ']', but got '}'",
    "did not find expected ',' or '}'": "expected ',' or '}', but got '{'",
}


def parser_wording(line: str) -> str:
    if getattr(yaml, "__with_libyaml__", False):
        return line
    for libyaml, pure in PURE_PYTHON_WORDING.items():
        line = line.replace(libyaml, pure)
    return line


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_validate_words_each_problem(
    case: str, cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    text, expected = CASES[case]
    write("m.yaml", text)
    result = cli("validate", "m.yaml")
    assert result.code == 1
    n = len(expected)
    problems = [line for line in result.err.splitlines() if not line.startswith("Warning: ")]
    assert problems == [
        *map(parser_wording, expected),
        f"Error: {n} problem{'s' if n != 1 else ''} found.",
    ]
    assert result.out == ""
    assert "Traceback" not in result.err


def test_literal_secret_values_are_never_echoed(
    cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    """Whatever is wrong around a literal secret, its value stays out of every message."""
    write(
        "m.yaml",
        CONNECTION_HEAD
        + "    auth:\n      specName: Acces Key\n      params:\n"
        + "        s3SecretKey: 918273645\n"
        + "        s3SessionToken: tok-SENSITIVE-42 ${env:X}\n"
        + "        secretKeyTypo: SENSITIVE-typo\n",
    )
    result = cli("validate", "m.yaml")
    assert result.code == 1
    assert "s3SecretKey: is a secret" in result.err
    assert "s3SessionToken: is a secret" in result.err
    for fragment in ("918273645", "SENSITIVE"):
        assert fragment not in result.err + result.out


def test_bad_bytes_are_located(
    cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    write("m.yaml", b"version: 1\nconnections:\n  a:\n    name: caf\xe9\n")
    result = cli("validate", "m.yaml")
    assert result.code == 1
    assert result.err.splitlines() == [
        (
            "m.yaml:4:14: the file is not UTF-8 text (the byte 0xe9 here cannot be read); save it "
            "as UTF-8."
        ),
        "Error: 1 problem found.",
    ]


def test_oversized_file_is_refused_without_parsing(
    cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    write("big.yaml", "version: 1\n" + "# padding\n" * 600_000)
    result = cli("validate", "big.yaml")
    assert result.code == 1
    assert result.err.splitlines() == [
        (
            "big.yaml:1:1: the file is 5.7 MB, more than the 5 MB a manifest may be; split it "
            "into several files."
        ),
        "Error: 1 problem found.",
    ]


def test_billion_laughs_is_refused(
    cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    write("lol.yaml", "\n".join(lines) + "\n")
    result = cli("validate", "lol.yaml")
    assert result.code == 1
    assert result.err.splitlines() == [
        (
            "lol.yaml:6:45: a4[7]: the YAML aliases in this file expand to more than 100,000 "
            "values; anchors and aliases are fine in moderation, so write the values out instead."
        ),
        "Error: 1 problem found.",
    ]


def test_deep_nesting_is_refused_not_crashed(
    cli: Callable[..., Result], write: Callable[[str, str | bytes], str]
) -> None:
    write("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = cli("validate", "deep.yaml")
    assert result.code == 1
    first = result.err.splitlines()[0]
    # PyYAML >= 6.0.4 refuses such depth in its own scanner, before our 32-level cap sees it.
    ours = first.startswith("deep.yaml:1:35: a") and first.endswith(
        ": the document nests deeper than 32 levels; a manifest needs far fewer, so flatten it."
    )
    pyyamls = first.startswith("deep.yaml:1:") and "exceeded maximum nesting depth" in first
    assert ours or pyyamls, first
    assert result.err.splitlines()[1:] == ["Error: 1 problem found."]
