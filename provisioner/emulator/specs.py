"""Connection specs the emulator knows (Amazon S3 source, Salesforce), and checking auth params against them."""

from __future__ import annotations

import copy
from typing import Any

from provisioner.emulator import errors

S3_SPEC_ID = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
_DRAFT7 = "http://json-schema.org/draft-07/schema#"

# Adobe publishes the S3 source params only as a prose table (experienceleague.adobe.com); the JSON below is
# written from it. Secret params carry `format: password`, Adobe's convention for secrets.
_S3: dict[str, Any] = {
    "id": S3_SPEC_ID,
    "name": "Amazon S3",
    "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
    "version": "1.0",
    "attributes": {"category": "Cloud Storage", "connectorName": "Amazon S3", "isSource": True},
    "authSpec": [
        {
            "name": "Access Key",
            "type": "KeyBased",
            "spec": {
                "$schema": _DRAFT7,
                "description": "Defines auth params required for connecting to amazon-s3",
                "type": "object",
                "properties": {
                    "s3AccessKey": {"description": "Access key id", "type": "string"},
                    "s3SecretKey": {
                        "description": "Secret access key for the user account",
                        "type": "string",
                        "format": "password",
                    },
                    "s3SessionToken": {
                        "description": "A short-term, temporary token",
                        "type": "string",
                        "format": "password",
                    },
                    "serviceUrl": {"description": "Custom S3 endpoint", "type": "string"},
                    "bucketName": {"description": "The S3 bucket", "type": "string"},
                    "folderPath": {"description": "Folder inside the bucket", "type": "string"},
                },
                "required": ["s3AccessKey", "s3SecretKey"],
            },
        },
        {
            "name": "IAMRole Based",
            "type": "IamBasedAuthentication",
            "spec": {
                "$schema": _DRAFT7,
                "description": "Defines IAM role based auth params for amazon-s3 on AWS",
                "type": "object",
                "properties": {
                    "bucketName": {"description": "The S3 bucket", "type": "string"},
                },
                "required": ["bucketName"],
            },
        },
    ],
}

# A second source, so that a connection of another type exists to be refused (e.g. by import).
# Its id and params are those of Adobe's Salesforce example in Adobe's 'update connections' tutorial.
SALESFORCE_SPEC_ID = "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5"
_SALESFORCE: dict[str, Any] = {
    "id": SALESFORCE_SPEC_ID,
    "name": "Salesforce",
    "providerId": "0ed90a81-07f4-4586-8190-b40eccef1c5a",
    "version": "1.0",
    "attributes": {"category": "CRM", "connectorName": "Salesforce", "isSource": True},
    "authSpec": [
        {
            "name": "Basic Authentication",
            "type": "BasicAuthentication",
            "spec": {
                "$schema": _DRAFT7,
                "description": "Defines auth params required for connecting to Salesforce",
                "type": "object",
                "properties": {
                    "username": {"description": "User name", "type": "string"},
                    "password": {
                        "description": "Password",
                        "type": "string",
                        "format": "password",
                    },
                    "securityToken": {
                        "description": "Security token",
                        "type": "string",
                        "format": "password",
                    },
                    "environmentUrl": {"description": "Login URL", "type": "string"},
                },
                "required": ["username", "password", "securityToken"],
            },
        }
    ],
}

SPECS: dict[str, dict[str, Any]] = {S3_SPEC_ID: _S3, SALESFORCE_SPEC_ID: _SALESFORCE}


def public(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to serialise and hand out."""
    return copy.deepcopy(spec)


def find(spec_id: str, version: str | None) -> dict[str, Any]:
    spec = SPECS.get(spec_id)
    if spec is None or (version is not None and version != spec["version"]):
        raise errors.flow(
            "1413-400",
            "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
        )
    return spec


def auth_spec(spec: dict[str, Any], name: Any) -> dict[str, Any]:
    for candidate in spec["authSpec"]:
        if candidate["name"] == name:
            return dict(candidate["spec"])
    raise errors.flow(
        "1415-400",
        f"The auth spec '{name}' could not be found for the connection spec ID {spec['id']}.",
    )


def secret_names(spec: dict[str, Any]) -> frozenset[str]:
    """Every param marked `format: password` in any auth spec of the connection spec."""
    return frozenset(
        name
        for a in spec["authSpec"]
        for name, prop in a["spec"]["properties"].items()
        if prop.get("format") == "password"
    )


def check_params(schema: dict[str, Any], params: Any) -> dict[str, str]:
    """Required params present and non-empty, no unknown param, every value a string."""
    if not isinstance(params, dict):
        raise errors.flow(
            "1304-400",
            "The mandatory field auth.params is not provided. "
            "Please provide the auth.params and try again.",
        )
    for name in schema["required"]:
        if params.get(name) in (None, ""):
            raise errors.flow(
                "1304-400",
                f"The mandatory field {name} is not provided. "
                f"Please provide the {name} and try again.",
            )
    known = schema["properties"]
    for name, value in params.items():
        if name not in known:
            raise errors.flow(
                "1312-400",
                f"The provided param {name} is not a valid input for the auth spec; "
                f"valid params are {', '.join(sorted(known))}.",
            )
        if not isinstance(value, str):
            raise errors.flow(
                "1312-400",
                # The value itself is never echoed: it may be a secret.
                f"The provided param value is not a valid input for property={name}. "
                "Please provide a string and try again.",
            )
    return params
