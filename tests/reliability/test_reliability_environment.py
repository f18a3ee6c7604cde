"""Hostile settings: odd AEP_* values and sandbox names end in one sentence that echoes no secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.aep import s3, write_manifest
from tests.reliability.helpers import SECRET

TOKEN = "SENTINEL-token-9d2c"

# case -> (variables, what the error must name; "" when the run may succeed)
CASES: dict[str, tuple[dict[str, str], str]] = {
    "token with a line break": (
        {"AEP_ACCESS_TOKEN": TOKEN + "\nX-Evil: 1", "AEP_CLIENT_SECRET": ""},
        "AEP_ACCESS_TOKEN",
    ),
    "token with a carriage return": (
        {"AEP_ACCESS_TOKEN": TOKEN + "\r", "AEP_CLIENT_SECRET": ""},
        "AEP_ACCESS_TOKEN",
    ),
    "token with a leading space": (
        {"AEP_ACCESS_TOKEN": " " + TOKEN, "AEP_CLIENT_SECRET": ""},
        "AEP_ACCESS_TOKEN",
    ),
    "client id with a line break": ({"AEP_CLIENT_ID": "client\nX-Evil: 1"}, "AEP_CLIENT_ID"),
    "org with a line break": ({"AEP_ORG_ID": "ORG@AdobeOrg\r\n"}, "AEP_ORG_ID"),
    "sandbox with a line break": ({"AEP_SANDBOX": "prod\nX-Evil: 1"}, "sandbox"),
    "token outside Latin-1": (
        {"AEP_ACCESS_TOKEN": TOKEN + "日本", "AEP_CLIENT_SECRET": ""},
        "AEP_ACCESS_TOKEN",
    ),
    "client id outside Latin-1": ({"AEP_CLIENT_ID": "客户"}, "AEP_CLIENT_ID"),
    "sandbox outside Latin-1": ({"AEP_SANDBOX": "日本"}, "sandbox"),
    "sandbox that is not UTF-8": ({"AEP_SANDBOX": "prod\udcff"}, "sandbox"),
    "client secret with a line break": ({"AEP_CLIENT_SECRET": SECRET + "\n"}, ""),
    "platform URL with a broken IPv6 host": (
        {"AEP_PLATFORM_URL": "http://[::1"},
        "AEP_PLATFORM_URL",
    ),
    "platform URL with a port out of range": (
        {"AEP_PLATFORM_URL": "http://127.0.0.1:99999"},
        "AEP_PLATFORM_URL",
    ),
    "IMS URL without a host": ({"AEP_IMS_URL": "https://"}, "AEP_IMS_URL"),
    "platform URL that is not one": ({"AEP_PLATFORM_URL": "not a url"}, "AEP_PLATFORM_URL"),
    "IMS URL with another scheme": ({"AEP_IMS_URL": "ftp://example.test"}, "AEP_IMS_URL"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_odd_settings_are_one_sentence_without_secrets(
    case: str,
    emulator_factory: Any,
    env_for: Any,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    env_for(emulator_factory())
    variables, names = CASES[case]
    for name, value in variables.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    for argv in (
        ("plan", "m.yaml"),
        ("apply", "m.yaml", "--auto-approve"),
        ("--debug", "plan", "m.yaml", "--json"),
    ):
        r = cli(*argv)
        text = r.out + r.err
        assert "internal error (" not in text, (argv, text)
        if "--debug" not in argv:  # --debug shows tracebacks on purpose (but still no secret)
            assert "Traceback" not in text, (argv, text)
        for secret in (TOKEN, SECRET):
            assert secret not in text, (argv, text)
            assert (
                secret not in (tmp_path / "provisioner.state.json").read_text()
                if (tmp_path / "provisioner.state.json").exists()
                else True
            )
        if names:
            assert r.code == 1, (argv, text)
            errors = [line for line in r.err.splitlines() if line.startswith("Error: ")]
            assert len(errors) == 1, (argv, r.err)
            assert names in errors[0], (argv, errors[0])  # the setting at fault, not another
            if names != "AEP_PLATFORM_URL":
                assert "AEP_PLATFORM_URL" not in errors[0], (argv, errors[0])
        else:
            assert r.code == 0, (argv, text)


def test_a_lock_timeout_that_is_not_a_finite_number_is_refused(
    emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    # NaN compares false with everything: a run waiting on a held lock would wait forever.
    env_for(emulator_factory())
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    for value in ("nan", "NaN", "inf", "-inf"):
        r = cli("apply", "m.yaml", "--auto-approve", f"--lock-timeout={value}")
        assert r.code == 1, (value, r.out)
        assert "--lock-timeout" in r.err and value in r.err, r.err
        assert not (tmp_path / "provisioner.state.json").exists()


def test_import_of_an_odd_connection_id_is_one_sentence(
    emulator_factory: Any, env_for: Any, cli: Any, tmp_path: Path
) -> None:
    env_for(emulator_factory())
    write_manifest(tmp_path / "m.yaml", {"alpha": s3("Alpha")})
    for odd in ("\udcff", "日本", "../../connections", "a/b?c#d", "x" * 3000, " "):
        r = cli("import", "alpha", odd, "m.yaml")
        assert r.code == 1, (odd, r.out)
        assert "internal error (" not in r.err and "Traceback" not in r.err, (odd, r.err)
        assert r.err.startswith("Error: "), r.err
        assert not (tmp_path / "provisioner.state.json").exists()
