"""Hand-built plans with fixed ids and times, for renderer snapshots (real runs have random ids)."""

from __future__ import annotations

from provisioner.diff import FieldChange
from provisioner.plan import Action, Change, Drift, Plan

ORG = "TESTORG0000000000000000@AdobeOrg"
MASK = "(sensitive)"


def change(action: Action, address: str, name: str, **kw: object) -> Change:
    return Change(action=action, org=ORG, sandbox="prod", address=address, kind="amazon-s3", name=name, **kw)  # type: ignore[arg-type]


def every_action() -> Plan:
    created = (
        FieldChange("type", None, "amazon-s3"),
        FieldChange("name", None, "Marketing landing"),
        FieldChange("description", None, "Raw | campaign <exports>"),
        FieldChange("auth.specName", None, "Access Key"),
        FieldChange("auth.params.s3AccessKey", None, "AKIAEXAMPLE"),
        FieldChange("auth.params.s3SecretKey", None, MASK, sensitive=True),
    )
    changes = (
        change(Action.ADOPT, "adopted", "Adopted bucket", remote_id="id-adopt", remote_etag='"e1"',
               also_update=True, fields=(FieldChange("description", "old", "new"),)),
        change(Action.CREATE, "marketing", "Marketing landing", fields=created),
        change(Action.DELETE, "old-feed", "Old feed", remote_id="id-delete", remote_etag='"e2"',
               fields=(FieldChange("name", "Old feed", None),)),
        change(Action.NOOP, "quiet", "Quiet", remote_id="id-noop", remote_etag='"e3"'),
        change(Action.NOOP, "retouched", "Retouched", remote_id="id-retouched", remote_etag='"e4"',
               drift=Drift(False, (FieldChange("description", "a", "b"),), "ui-colleague", 1790000000000)),
        change(Action.RECREATE, "vanished", "Vanished", drift=Drift(True),
               fields=(FieldChange("name", None, "Vanished"),)),
        change(Action.REPLACE, "swapped", "Swapped", remote_id="id-replace", remote_etag='"e5"',
               fields=(FieldChange("auth.specName", "Access Key", "IAMRole Based"),
                       FieldChange("auth.params.bucketName", None, "acme"))),
        change(Action.UPDATE, "rotated", "Rotated ```fence```", remote_id="id-update", remote_etag='"e6"',
               drift=Drift(False, (FieldChange("name", "Rotated", "Renamed in UI"),), "ui-colleague", 1790000000000),
               fields=(FieldChange("name", "Renamed in UI", "Rotated ```fence```"),
                       FieldChange("auth.params.s3SecretKey", MASK, MASK, sensitive=True))),
    )
    return Plan(org=ORG, changes=changes, lineage="11111111-2222-3333-4444-555555555555", serial=7,
                manifest_digest="sha256:abc", sandboxes=("prod",))


def many_creates(n: int) -> Plan:
    changes = tuple(
        change(Action.CREATE, f"conn-{i:05d}", f"Connection {i:05d}",
               fields=(FieldChange("type", None, "amazon-s3"), FieldChange("name", None, f"Connection {i:05d}"),
                       FieldChange("auth.params.s3SecretKey", None, MASK, sensitive=True)))
        for i in range(n)
    )
    return Plan(org=ORG, changes=changes, lineage="l", serial=1, manifest_digest="d", sandboxes=("prod",))


def nothing() -> Plan:
    return Plan(org=ORG, changes=(change(Action.NOOP, "quiet", "Quiet", remote_id="id", remote_etag='"e"'),),
                lineage="l", serial=1, manifest_digest="d", sandboxes=("prod",))
