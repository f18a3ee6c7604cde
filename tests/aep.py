"""A deliberately small raw Flow Service client for tests: plays "someone else" (the UI, a colleague).

It does not use provisioner.client, so a test can check the tool's effects independently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
BASE = "/data/foundation/flowservice"


class RawApi:
    def __init__(
        self,
        url: str,
        *,
        client_id: str = "ui-colleague",
        secret: str = "ui-secret",
        org: str = "TESTORG0000000000000000@AdobeOrg",
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.org = org
        resp = requests.post(
            f"{url}/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "openid",
            },
            timeout=10,
        )
        resp.raise_for_status()
        self.token = resp.json()["access_token"]

    def headers(self, sandbox: str, **extra: str) -> dict[str, str]:
        h = {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org,
            "x-sandbox-name": sandbox,
            "Content-Type": "application/json",
        }
        h.update(extra)
        return h

    def list(self, sandbox: str = "prod") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        path = f"/connections?limit=100&property=connectionSpec.id=={S3_SPEC}"
        while path:
            resp = requests.get(self.url + BASE + path, headers=self.headers(sandbox), timeout=10)
            resp.raise_for_status()
            body = resp.json()
            items += body["items"]
            path = ((body.get("_links") or {}).get("next") or {}).get("href")
        return items

    def get(self, id: str, sandbox: str = "prod") -> dict[str, Any] | None:
        resp = requests.get(f"{self.url}{BASE}/connections/{id}", headers=self.headers(sandbox), timeout=10)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()["items"][0]  # type: ignore[no-any-return]

    def create(
        self,
        name: str,
        sandbox: str = "prod",
        *,
        params: dict[str, str] | None = None,
        spec_name: str = "Access Key",
        description: str | None = None,
        spec_id: str = S3_SPEC,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": name,
            "auth": {
                "specName": spec_name,
                "params": params or {"s3AccessKey": "AKIAOTHER", "s3SecretKey": "other-secret"},
            },
            "connectionSpec": {"id": spec_id, "version": "1.0"},
        }
        if description is not None:
            body["description"] = description
        resp = requests.post(f"{self.url}{BASE}/connections", json=body, headers=self.headers(sandbox), timeout=10)
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def patch(self, id: str, ops: list[dict[str, Any]], sandbox: str = "prod") -> dict[str, Any]:
        current = self.get(id, sandbox)
        assert current is not None
        resp = requests.patch(
            f"{self.url}{BASE}/connections/{id}",
            json=ops,
            headers=self.headers(sandbox, **{"If-Match": current["etag"]}),
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def delete(self, id: str, sandbox: str = "prod") -> None:
        resp = requests.delete(f"{self.url}{BASE}/connections/{id}", headers=self.headers(sandbox), timeout=10)
        assert resp.status_code == 204, resp.text


def write_manifest(
    path: Path,
    connections: dict[str, dict[str, Any]],
    *,
    sandbox: str | None = None,
) -> Path:
    """Write a manifest; `connections` maps address -> fields (name, description, auth...)."""
    import yaml

    doc: dict[str, Any] = {"version": 1}
    if sandbox:
        doc["sandbox"] = sandbox
    doc["connections"] = connections
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def s3(name: str, *, key_env: str = "TEST_S3_KEY", secret_env: str = "TEST_S3_SECRET", **extra: Any) -> dict[str, Any]:
    """A manifest entry for an Access Key S3 connection with env-referenced credentials."""
    params = {"s3AccessKey": f"${{env:{key_env}}}", "s3SecretKey": f"${{env:{secret_env}}}"}
    params.update(extra.pop("params", {}))
    entry: dict[str, Any] = {"type": "amazon-s3", "name": name}
    entry.update(extra)
    entry["auth"] = {"specName": "Access Key", "params": params}
    return entry


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child Python process that must import this checkout's package."""
    import os

    env = dict(os.environ if base is None else base)
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    return env
