"""The `amazon-s3` base connection: Flow Service's Amazon S3 connection spec (`connections:`).

Document: {type, name, description?, auth: {specName, params}}; the API body has
connectionSpec {id, version} in place of `type`. Secret params (s3SecretKey, s3SessionToken)
are never readable from the service, so the remote document lacks them and the state holds
their fingerprints under auth.secretFingerprints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provisioner import document as doc
from provisioner.kinds import AuthSpec, Endpoint, Kind
from provisioner.kinds.schema_files import fragment
from provisioner.model import Remote

SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
SPEC_VERSION = "1.0"

# Adobe documents the params only in prose (Amazon S3 source connector docs on Experience
# League). s3SecretKey and s3SessionToken are treated as secret (the S3 destination spec marks
# its secret key `format: password`).
ACCESS_KEY = AuthSpec(
    name="Access Key",
    required=frozenset({"s3AccessKey", "s3SecretKey"}),
    optional=frozenset({"s3SessionToken", "serviceUrl", "bucketName", "folderPath"}),
    secret=frozenset({"s3SecretKey", "s3SessionToken"}),
)
IAM_ROLE = AuthSpec(
    name="IAMRole Based",
    required=frozenset({"bucketName"}),
    optional=frozenset(),
    secret=frozenset(),
)

_STATE_KEYS = frozenset(
    {"id", "etag", "name", "description", "type", "connectionSpec", "auth", "protect"}
)


class AmazonS3(Kind):
    name = "amazon-s3"
    section = "connections"
    type_name = "amazon-s3"
    label = "connection"
    title = "Amazon S3"
    spec_id = SPEC_ID
    spec_version = SPEC_VERSION
    endpoint = Endpoint(
        "flowservice", "/connections", (("property", f"connectionSpec.id=={SPEC_ID}"),)
    )
    forces_replacement = (("type",), ("auth", "specName"))
    # Flow Service keeps the params as one object and the secrets must be sent again with any
    # change of them: a change to one param replaces them all.
    patch_units = (("auth", "params"),)
    secret_parents = (("auth", "params"),)
    auth_specs: Mapping[str, AuthSpec] = {ACCESS_KEY.name: ACCESS_KEY, IAM_ROLE.name: IAM_ROLE}

    def schema_defs(self) -> dict[str, Any]:
        return fragment("amazon_s3")

    def secret_param(self, entry: Mapping[str, Any], path: doc.Path) -> bool | None:
        if len(path) != 3 or path[:2] != ("auth", "params"):
            return False
        auth = entry.get("auth")
        spec_name = auth.get("specName") if isinstance(auth, (dict, Mapping)) else None
        spec = self.auth_specs.get(spec_name) if isinstance(spec_name, str) else None
        return None if spec is None else path[2] in spec.secret

    def desired(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        auth = entry["auth"]
        out: dict[str, Any] = {"type": self.name, "name": entry["name"]}
        if entry.get("description"):
            out["description"] = entry["description"]
        out["auth"] = {"specName": auth["specName"], "params": dict(sorted(auth["params"].items()))}
        return out

    def read(self, item: Mapping[str, Any], sandbox: str) -> Remote:
        auth = item.get("auth") or {}
        spec_name = str(auth.get("specName", ""))
        spec = self.auth_specs.get(spec_name)
        secret = spec.secret if spec is not None else frozenset()
        params = {
            str(k): str(v)
            for k, v in sorted((auth.get("params") or {}).items())
            if k not in secret and v is not None
        }
        connection_spec = item.get("connectionSpec") or {}
        spec_id = str(connection_spec.get("id", ""))
        document: dict[str, Any] = {
            "type": self.name if spec_id == self.spec_id else spec_id,
            "name": str(item.get("name", "")),
        }
        if item.get("description"):
            document["description"] = str(item["description"])
        document["auth"] = {"specName": spec_name, "params": params}
        return Remote(
            kind=self.name,
            id=str(item["id"]),
            etag=str(item.get("etag", "")),
            sandbox=str(item.get("sandboxName") or sandbox),
            document=document,
            state=str(item.get("state", "enabled")),
            created_at=item.get("createdAt"),
            created_by=item.get("createdBy"),
            updated_at=item.get("updatedAt"),
            updated_by=item.get("updatedBy"),
        )

    def body(self, document: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"name": document["name"]}
        if document.get("description"):
            body["description"] = document["description"]
        body["auth"] = document["auth"]
        body["connectionSpec"] = {"id": self.spec_id, "version": self.spec_version}
        return body

    def to_state(
        self, document: Mapping[str, Any], fingerprints: Mapping[str, str]
    ) -> dict[str, Any]:
        auth = document.get("auth") or {}
        prints = {path.rsplit(".", 1)[-1]: fp for path, fp in fingerprints.items()}
        return {
            "name": document.get("name", ""),
            "description": document.get("description", ""),
            "type": document.get("type", self.name),
            "connectionSpec": {"id": self.spec_id, "version": self.spec_version},
            "auth": {
                "specName": auth.get("specName", ""),
                "params": dict(sorted((auth.get("params") or {}).items())),
                "secretFingerprints": dict(sorted(prints.items())),
            },
        }

    def from_state(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        auth = record.get("auth") or {}
        document: dict[str, Any] = {"type": record.get("type", self.name), "name": record["name"]}
        if record.get("description"):
            document["description"] = record["description"]
        document["auth"] = {
            "specName": auth.get("specName", ""),
            "params": dict(auth.get("params") or {}),
        }
        prints = {
            f"auth.params.{k}": v for k, v in (auth.get("secretFingerprints") or {}).items()
        }
        return document, prints

    def view_rows(self, attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [("connectionSpec", f'"{self.spec_id}" version "{self.spec_version}"')]

    def state_keys(self) -> frozenset[str]:
        return _STATE_KEYS


KIND = AmazonS3()
