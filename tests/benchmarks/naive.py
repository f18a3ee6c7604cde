"""The naive client the benchmark compares against: one GET per resource, sequential creates.

It is what a Terraform-style refresh or a simple wrapper does, written with `requests` and a
keep-alive Session (so it is not handicapped by reconnecting). Run by bench.py as its own process:

    python naive.py apply URL SANDBOX N IDS_FILE   # POST N connections one after the other
    python naive.py plan URL SANDBOX N IDS_FILE    # GET each recorded id, compare with the manifest
"""

from __future__ import annotations

import json
import sys
from typing import Any

import requests

S3_SPEC = "ecadc60c-7455-4d87-84dc-2a0e293d997b"
BASE = "/data/foundation/flowservice"
CLIENT_ID = "naive-benchmark-client"
ORG = "EMULATOR0000000000000000@AdobeOrg"


def desired(i: int) -> dict[str, Any]:
    """The same connection the benchmark's manifest declares as c{i:05d}."""
    return {
        "name": f"bench connection {i:05d}",
        "description": f"benchmark connection {i}",
        "auth": {
            "specName": "Access Key",
            "params": {
                "s3AccessKey": "AKIABENCHMARKEXAMPLE",
                "s3SecretKey": "bench-secret-value-example",
                "bucketName": f"bench-bucket-{i:05d}",
            },
        },
        "connectionSpec": {"id": S3_SPEC, "version": "1.0"},
    }


def session(url: str, sandbox: str) -> requests.Session:
    s = requests.Session()
    token = s.post(
        f"{url}/ims/token/v3",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "naive-secret",
            "scope": "openid",
        },
        timeout=30,
    )
    token.raise_for_status()
    s.headers.update(
        {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "x-api-key": CLIENT_ID,
            "x-gw-ims-org-id": ORG,
            "x-sandbox-name": sandbox,
        }
    )
    return s


def apply(url: str, sandbox: str, n: int, ids_file: str) -> int:
    s = session(url, sandbox)
    ids = []
    for i in range(n):
        resp = s.post(f"{url}{BASE}/connections", json=desired(i), timeout=30)
        resp.raise_for_status()
        ids.append(resp.json()["id"])
    with open(ids_file, "w", encoding="utf-8") as fh:
        json.dump(ids, fh)
    return 0


def plan(url: str, sandbox: str, n: int, ids_file: str) -> int:
    s = session(url, sandbox)
    with open(ids_file, encoding="utf-8") as fh:
        ids = json.load(fh)
    changes = 0
    for i, id_ in enumerate(ids[:n]):
        resp = s.get(f"{url}{BASE}/connections/{id_}", timeout=30)
        resp.raise_for_status()
        item = resp.json()["items"][0]
        want = desired(i)
        if item["name"] != want["name"] or item.get("description") != want["description"]:
            changes += 1
    print(f"{changes} to change")
    return 0


if __name__ == "__main__":
    command, url, sandbox, count, path = sys.argv[1:6]
    raise SystemExit({"apply": apply, "plan": plan}[command](url, sandbox, int(count), path))
