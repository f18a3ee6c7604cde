"""The texts of `--help`: each command's examples, exit codes and the environment it reads.

cli.build_parser() puts them in each parser's epilog (printed as written, after the options).
Kept apart from the parser so the parser code stays about arguments, and so a test can check
that every command has all three parts.
"""

from __future__ import annotations

# Variables every command reads.
_COMMON_ENV = (
    ("PROVISIONER_LOG", "debug: the same as --debug (tracebacks, a redacted HTTP log on stderr)"),
    ("NO_COLOR", "any non-empty value: never colour the output (TERM=dumb too)"),
)

# Variables of the commands that talk to Flow Service (unless --emulator is given).
_API_ENV = (
    ("AEP_CLIENT_ID", "Adobe Developer Console OAuth Server-to-Server client id (required)"),
    ("AEP_CLIENT_SECRET", "its client secret (required unless AEP_ACCESS_TOKEN is set)"),
    ("AEP_ORG_ID", "the IMS organisation id, ...@AdobeOrg (required)"),
    ("AEP_ACCESS_TOKEN", "a ready access token, used instead of fetching one"),
    ("AEP_SCOPES", "OAuth scopes to request (default: the ones Flow Service needs)"),
    ("AEP_SANDBOX", "sandbox of manifests that name none (default prod; --sandbox wins)"),
    ("AEP_PLATFORM_URL", "Platform API base URL (default https://platform.adobe.io)"),
    ("AEP_IMS_URL", "IMS base URL (default https://ims-na1.adobelogin.com)"),
    ("${env:NAME}", "every variable the manifests reference, e.g. the S3 keys"),
)

_EXIT_0_1 = (
    ("0", "success"),
    ("1", "an error: bad input, a refused or failed change, an unreachable service"),
    ("130", "interrupted (Ctrl-C or SIGTERM); the state keeps what was done"),
)

_COMMANDS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "validate": {
        "examples": (
            ("provisioner validate examples/", "check every manifest under examples/"),
            ("provisioner validate --quiet connections/", "in CI: print errors only"),
        ),
        "exit": (
            ("0", "every manifest is valid (unset ${env:NAME} variables are only warnings)"),
            ("1", "a problem: YAML, schema, reference, duplicate address or literal secret"),
        ),
        "env": (("AEP_SANDBOX", "sandbox of manifests that name none (default prod)"),),
    },
    "plan": {
        "examples": (
            ("provisioner plan connections/", "print what apply would change"),
            (
                "provisioner plan connections/ --out plan.bin --markdown --detailed-exitcode",
                "in a pull request: save the plan, print a PR comment, exit 2 on changes",
            ),
        ),
        "exit": (
            ("0", "success (with --detailed-exitcode: no changes)"),
            ("1", "an error; or --verify found a connection whose credentials fail"),
            ("2", "with --detailed-exitcode only: there are changes"),
            ("130", "interrupted"),
        ),
        "env": _API_ENV
        + (("GITHUB_STEP_SUMMARY", "with --markdown, the comment is appended to this file"),),
    },
    "apply": {
        "examples": (
            ("provisioner apply --auto-approve --json . > apply.ndjson", "a log a machine reads"),
            ("provisioner apply plan.bin", "apply a PLANFILE saved by 'plan --out', no prompt"),
        ),
        "exit": (
            ("0", "every change was applied (and, with --verify, every test passed)"),
            ("1", "an error, a refused (stale) PLANFILE, or a change that failed"),
            ("130", "interrupted; what was done is in the state, the next run completes it"),
        ),
        "env": _API_ENV,
    },
    "refresh": {
        "examples": (
            ("provisioner refresh", "report changes made outside provisioner, update the state"),
            ("provisioner refresh --sandbox dev", "only the dev sandbox"),
        ),
        "exit": _EXIT_0_1,
        "env": _API_ENV,
    },
    "import": {
        "examples": (
            (
                "provisioner import reports 5b1e9c1a-0000-4000-8000-000000000000 connections/",
                "adopt that connection as the declared address 'reports'",
            ),
        ),
        "exit": _EXIT_0_1,
        "env": _API_ENV,
    },
    "destroy": {
        "examples": (
            ("provisioner destroy", "delete what the state owns (asks 'yes')"),
            ("provisioner destroy --sandbox dev --auto-approve", "only dev, no prompt"),
        ),
        "exit": _EXIT_0_1,
        "env": _API_ENV,
    },
    "show": {
        "examples": (
            ("provisioner show", "print the state"),
            ("provisioner show plan.bin --json", "print a saved plan as JSON"),
        ),
        "exit": (("0", "printed"), ("1", "an unreadable state or plan file")),
        "env": (),
    },
    "state": {
        "examples": (
            ("provisioner state list", "the addresses the state owns"),
            ("provisioner state rm dev/reports", "forget an entry; the connection stays"),
        ),
        "exit": (("0", "success"), ("1", "an unknown address or an unreadable state")),
        "env": (),
    },
    "state list": {
        "examples": (
            ("provisioner state list", "every entry, as sandbox/address"),
            ("provisioner state list --sandbox dev", "the dev sandbox's entries"),
        ),
        "exit": (("0", "printed"), ("1", "an unreadable state file")),
        "env": (),
    },
    "state show": {
        "examples": (("provisioner state show prod/reports", "one entry, with its id"),),
        "exit": (("0", "printed"), ("1", "an unknown or ambiguous address")),
        "env": (),
    },
    "state rm": {
        "examples": (
            ("provisioner state rm prod/reports", "forget it; provisioner no longer owns it"),
        ),
        "exit": (
            ("0", "removed"),
            ("1", "an unknown or ambiguous address, or the state is locked"),
        ),
        "env": (),
    },
    "status": {
        "examples": (
            ("provisioner status examples/", "each dataflow's state and its last 5 runs"),
            ("provisioner status --json --runs 20 .", "as JSON, 20 runs per dataflow"),
        ),
        "exit": (("0", "printed"), ("1", "no dataflow declared, bad manifests, service error")),
        "env": _API_ENV,
    },
    "graph": {
        "examples": (
            ("provisioner graph examples/", "a Mermaid flowchart of the resources"),
            ("provisioner graph --format dot . | dot -Tsvg > graph.svg", "Graphviz"),
        ),
        "exit": (("0", "printed"), ("1", "bad manifests (dangling or circular references)")),
        "env": (("AEP_SANDBOX", "sandbox of manifests that name none (default prod)"),),
    },
    "state push": {
        "examples": (
            (
                "provisioner state push provisioner.state.json --state s3://acme-tf/aep/prod.json",
                "move a local state to S3 (same lineage, or --force)",
            ),
        ),
        "exit": (("0", "copied"), ("1", "another lineage, a newer state there, or locked")),
        "env": (("PROVISIONER_STATE", "the default --state (a path or s3://BUCKET/KEY)"),),
    },
    "state pull": {
        "examples": (
            (
                "provisioner state pull backup.json --state s3://acme-tf/aep/prod.json",
                "copy the S3 state to a local file",
            ),
        ),
        "exit": (("0", "copied"), ("1", "another lineage, a newer file there, or locked")),
        "env": (("PROVISIONER_STATE", "the default --state (a path or s3://BUCKET/KEY)"),),
    },
    "state mv": {
        "examples": (
            ("provisioner state mv prod/reports prod/sales", "the entry is now prod/sales"),
        ),
        "exit": (
            ("0", "moved"),
            ("1", "an unknown address, a taken new address, or the state is locked"),
        ),
        "env": (),
    },
    "force-unlock": {
        "examples": (
            ("provisioner force-unlock", "remove the lock of a process that is gone"),
            ("provisioner force-unlock --force", "remove it even if its holder looks alive"),
        ),
        "exit": (("0", "unlocked, or there was no lock"), ("1", "the holder looks alive")),
        "env": (),
    },
    "emulator": {
        "examples": (
            ("provisioner emulator --port 8080", "serve Flow Service and IMS on 127.0.0.1:8080"),
            (
                "provisioner emulator --port 0 --db emu.db --fail-rate 0.1 --seed 7",
                "any free port, persisted, 10% injected 5xx, reproducible",
            ),
        ),
        "exit": (("0", "stopped by Ctrl-C or SIGTERM"), ("1", "bad options, port in use")),
        "env": (),
    },
}


def _table(rows: tuple[tuple[str, str], ...], indent: str = "  ") -> str:
    width = max((len(a) for a, _ in rows), default=0)
    if width > 24:  # long commands: the explanation on its own line
        return "\n".join(f"{indent}{a}\n{indent}    {b}" for a, b in rows)
    return "\n".join(f"{indent}{a.ljust(width)}  {b}" for a, b in rows)


def epilog(command: str) -> str:
    """The part of `provisioner COMMAND --help` after the options."""
    parts = _COMMANDS[command]
    env = parts["env"] + _COMMON_ENV
    return "\n\n".join(
        (
            "examples:\n" + _table(parts["examples"]),
            "exit codes:\n" + _table(parts["exit"]),
            "environment:\n" + _table(env),
        )
    )


def commands() -> list[str]:
    """Every command (and state subcommand) that has a help epilog."""
    return list(_COMMANDS)


TOP_EPILOG = """\
examples:
  provisioner validate examples/
  provisioner plan --emulator examples/       (a local emulator: no Adobe account needed)
  provisioner apply connections/
  provisioner COMMAND --help                  (arguments, examples, exit codes, environment)

exit codes: 0 success, 1 error, 2 changes (plan --detailed-exitcode), 130 interrupted.
environment: AEP_* credentials for Flow Service; PROVISIONER_LOG=debug is --debug."""
