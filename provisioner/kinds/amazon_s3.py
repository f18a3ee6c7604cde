"""The `amazon-s3` kind: Flow Service's Amazon S3 source connection spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioner.kinds import AuthSpec
from provisioner.model import RemoteConnection, Resource
from provisioner.secrets import Secret

SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"

# Adobe documents the params only in prose (Adobe's 'Amazon S3' source page, experienceleague.adobe.com). s3SecretKey and s3SessionToken are
# treated as secret (the S3 destination spec marks its secret key `format: password`).
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


@dataclass(frozen=True)
class AmazonS3:
    name: str = "amazon-s3"
    title: str = "Amazon S3"
    spec_id: str = SPEC_ID
    spec_version: str = "1.0"
    auth_specs: Mapping[str, AuthSpec] = field(
        default_factory=lambda: {ACCESS_KEY.name: ACCESS_KEY, IAM_ROLE.name: IAM_ROLE}
    )

    def create_body(self, resource: Resource) -> dict[str, Any]:
        params = {
            k: (v.reveal() if isinstance(v, Secret) else v) for k, v in resource.params.items()
        }
        body: dict[str, Any] = {
            "name": resource.name,
            "auth": {"specName": resource.auth_spec, "params": params},
            "connectionSpec": {"id": self.spec_id, "version": self.spec_version},
        }
        if resource.description:
            body["description"] = resource.description
        return body

    def read(self, item: Mapping[str, Any], sandbox: str) -> RemoteConnection:
        auth = item.get("auth") or {}
        spec_name = str(auth.get("specName", ""))
        secret = self.auth_specs[spec_name].secret if spec_name in self.auth_specs else frozenset()
        params = {
            str(k): str(v)
            for k, v in (auth.get("params") or {}).items()
            if k not in secret and v is not None
        }
        spec = item.get("connectionSpec") or {}
        return RemoteConnection(
            id=str(item["id"]),
            etag=str(item.get("etag", "")),
            name=str(item.get("name", "")),
            description=str(item.get("description") or ""),
            spec_id=str(spec.get("id", "")),
            spec_version=str(spec.get("version", "")),
            auth_spec=spec_name,
            params=params,
            sandbox=str(item.get("sandboxName") or sandbox),
            state=str(item.get("state", "enabled")),
            created_at=item.get("createdAt"),
            created_by=item.get("createdBy"),
            updated_at=item.get("updatedAt"),
            updated_by=item.get("updatedBy"),
            updated_client=item.get("updatedClient"),
        )


KIND = AmazonS3()
