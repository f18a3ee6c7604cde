"""The API client has one type: provisioner.client_api.Client, which FlowServiceClient satisfies.

These fail when `Any` creeps back into a place that holds or passes the client, or when the
client and the Protocol drift apart (mypy --strict checks the same at the call sites).
"""

from __future__ import annotations

import ast
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import provisioner
from provisioner import apply, listing, lookups, runtime, verify
from provisioner.client import FlowServiceClient
from provisioner.client_api import Client
from provisioner.commands import apply as apply_command
from provisioner.config import Settings

PACKAGE = Path(provisioner.__file__).parent

# Not the API client: boto3's S3 client (remote state), and the emulator's HTTP peers.
NOT_THE_API_CLIENT = ("state/s3.py", "emulator/")

ALLOWED = {"Client", "Client | None", "FlowServiceClient", "FlowServiceClient | None"}


def _client_annotations() -> list[tuple[str, int, str]]:
    """(module, line, annotation text) of every parameter, attribute and property of the
    package named `client` or `_client`."""
    found: list[tuple[str, int, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(NOT_THE_API_CLIENT) or where == "client.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg in {"client", "_client"}:
                if node.annotation is not None:
                    found.append((where, node.lineno, ast.unparse(node.annotation)))
            elif isinstance(node, ast.AnnAssign):
                target = node.target
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in {"client", "_client"}:
                    found.append((where, node.lineno, ast.unparse(node.annotation)))
            elif (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name in {"client", "_client"}
                and node.returns is not None
            ):
                found.append((where, node.lineno, ast.unparse(node.returns)))
    return found


def test_every_client_annotation_is_the_client_type() -> None:
    found = _client_annotations()
    # The scan sees the holders it must (a scan that finds nothing proves nothing).
    modules = {m for m, _, _ in found}
    assert {"runtime.py", "listing.py", "apply.py", "lookups.py", "verify.py"} <= modules
    assert {"commands/apply.py"} <= modules
    wrong = [f"{m}:{line}: {text}" for m, line, text in found if text not in ALLOWED]
    assert not wrong, "the API client typed otherwise than Client:\n" + "\n".join(wrong)


def _hint(obj: Callable[..., Any] | type, name: str) -> Any:
    # verify.py and commands/apply.py import Client for type checking only.
    return typing.get_type_hints(obj, localns={"Client": Client})[name]


@pytest.mark.parametrize(
    ("holder", "name"),
    [
        (listing.RemoteReader.__init__, "client"),
        (listing.fetch_remote, "client"),
        (lookups.find, "client"),
        (apply.Executor.__init__, "client"),
        (verify.verify, "client"),
        (verify.explore, "client"),
        (apply_command._reader, "client"),
        (apply_command._verify, "client"),
    ],
    ids=lambda v: getattr(v, "__qualname__", str(v)),
)
def test_holders_resolve_to_the_protocol(holder: Callable[..., Any] | type, name: str) -> None:
    assert _hint(holder, name) is Client


@pytest.mark.parametrize("holder", [runtime.ListingAhead, runtime.Runtime], ids=lambda c: c.__name__)
def test_listing_ahead_and_runtime_hand_out_the_protocol(holder: type) -> None:
    prop = holder.client  # type: ignore[attr-defined]
    assert isinstance(prop, property) and prop.fget is not None
    assert _hint(prop.fget, "return") is Client


def test_a_runtime_is_given_the_protocol_or_the_listing_ahead() -> None:
    hints = typing.get_type_hints(runtime.Runtime.__init__, localns={"Client": Client})
    assert hints["client"] == Client | None
    assert hints["ahead"] == runtime.ListingAhead | None


def test_the_executor_has_no_protocol_of_its_own() -> None:
    assert apply.Client is Client


def _members() -> list[str]:
    return sorted(
        name
        for name, value in vars(Client).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    )


def test_flow_service_client_has_every_member_with_the_same_signature() -> None:
    members = _members()
    assert {"get_item", "list_items", "list_matching", "patch_item", "page_size"} <= set(members)
    for name in members:
        declared = vars(Client)[name]
        if isinstance(declared, property):
            continue  # checked on an instance below
        implemented = getattr(FlowServiceClient, name, None)
        assert callable(implemented), f"FlowServiceClient has no {name}()"
        want, got = inspect.signature(declared), inspect.signature(implemented)
        assert list(want.parameters.values()) == list(got.parameters.values()), name
        assert want.return_annotation == got.return_annotation, name


def test_a_real_client_serves_the_properties() -> None:
    settings = Settings(
        client_id="typing-check",
        org_id="TYPING000000000000000000@AdobeOrg",
        platform_url="http://127.0.0.1:9",
        ims_url="http://127.0.0.1:9",
    )
    with FlowServiceClient(settings, page_size=7) as client:
        held: Client = client
        assert held.page_size == 7
        for name in _members():
            assert hasattr(client, name), name
