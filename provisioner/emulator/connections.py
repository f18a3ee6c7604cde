"""Flow Service's connection operations over the store: create, read, list, patch, delete, test."""

from __future__ import annotations

import functools
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from provisioner.emulator import errors, listing, patch, specs
from provisioner.emulator.ims import Principal
from provisioner.emulator.store import Row, Store

MASK = "********"  # what GET shows for every secret param (Adobe does not document its form)
_SANDBOX_NS = uuid.UUID("8f1f6c3e-8d7a-4b8e-9a51-5d1f3f0c2a77")


def new_etag(previous: str | None = None) -> str:
    """A quoted etag in the observed form "xxxxxxxx-0000-0200-0000-xxxxxxxx0000", never repeated."""
    while True:
        etag = f'"{secrets.token_hex(4)}-0000-0200-0000-{int(time.time()) & 0xFFFFFFFF:08x}0000"'
        if etag != previous:
            return etag


@functools.lru_cache(maxsize=256)  # asked once per listed item: a quarter of a page's time
def sandbox_id(org: str, sandbox: str) -> str:
    return str(uuid.uuid5(_SANDBOX_NS, f"{org}/{sandbox}"))


def render(row: Row) -> dict[str, Any]:
    """A connection as GET shows it: every documented field, secret params masked."""
    item: dict[str, Any] = {
        "id": row.id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "createdBy": row.created_by,
        "updatedBy": row.updated_by,
        "createdClient": row.created_client,
        "updatedClient": row.updated_client,
        "sandboxId": sandbox_id(row.org, row.sandbox),
        "sandboxName": row.sandbox,
        "imsOrgId": row.org,
        "name": row.name,
    }
    if row.description is not None:
        item["description"] = row.description
    item["connectionSpec"] = {"id": row.spec_id, "version": row.spec_version}
    item["state"] = row.state
    item["auth"] = {
        "specName": row.auth_spec,
        "params": {**row.params, **{name: MASK for name in row.secrets}},
    }
    item["version"] = row.etag
    item["etag"] = row.etag
    return item


def _required_string(body: dict[str, Any], key: str, label: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise errors.flow(
            "1304-400",
            f"The mandatory field {label} is not provided. Please provide the {label} and try again.",
        )
    return value


class Connections:
    """The /connections resource of one emulator."""

    def __init__(
        self,
        store: Store,
        s3_credentials: dict[str, Any] | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._s3 = s3_credentials
        self._secret_params = frozenset().union(
            *(specs.secret_names(s) for s in specs.SPECS.values())
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _split(
        self, spec: dict[str, Any], params: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        secret = specs.secret_names(spec)
        plain = {k: v for k, v in params.items() if k not in secret}
        digests = {k: self._store.digest(k, v) for k, v in params.items() if k in secret}
        return plain, digests

    def create(self, who: Principal, sandbox: str, body: Any) -> dict[str, str]:
        if not isinstance(body, dict):
            raise errors.flow("1000-400", "The request body must be a JSON object.")
        ref = body.get("connectionSpec")
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
            raise errors.flow(
                "1304-400",
                "The mandatory field connectionSpec.id is not provided. "
                "Please provide the connectionSpec.id and try again.",
            )
        version = ref.get("version")
        spec = specs.find(ref["id"], version if isinstance(version, str) else None)
        name = _required_string(body, "name", "name")
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise errors.flow("1000-400", "The field description must be a string.")
        auth = body.get("auth")
        if not isinstance(auth, dict):
            auth = {}
        spec_name = _required_string(auth, "specName", "auth.specName")
        schema = specs.auth_spec(spec, spec_name)
        params = specs.check_params(schema, auth.get("params"))
        plain, digests = self._split(spec, params)
        now = self._now_ms()
        row = Row(
            id=str(uuid.uuid4()),
            org=who.org,
            sandbox=sandbox,
            name=name,
            description=description,
            spec_id=spec["id"],
            spec_version=spec["version"],
            state="enabled",
            auth_spec=spec_name,
            params=plain,
            secrets=digests,
            created_at=now,
            updated_at=now,
            created_by=who.client_id,
            updated_by=who.client_id,
            created_client=who.client_id,
            updated_client=who.client_id,
            etag=new_etag(),
        )
        self._store.insert(row)
        return {"id": row.id, "etag": row.etag}

    def get(self, who: Principal, sandbox: str, id_: str) -> dict[str, Any]:
        row = self._store.get(who.org, sandbox, id_)
        if row is None:
            raise errors.not_found(id_)
        return {"items": [render(row)]}

    def delete(self, who: Principal, sandbox: str, id_: str) -> None:
        if not self._store.delete(who.org, sandbox, id_):
            raise errors.not_found(id_)

    def update(
        self, who: Principal, sandbox: str, id_: str, if_match: str, ops: list[dict[str, Any]]
    ) -> dict[str, str]:
        def change(row: Row | None) -> Row:
            if row is None:
                raise errors.not_found(id_)
            supplied = if_match.strip()
            if supplied not in (row.etag, row.etag.strip('"')):
                raise errors.flow(
                    "1404-412",
                    f"The supplied version '{supplied}' does not match the current version on "
                    f"entity '{row.etag}'. Please ensure that the supplied version matches the "
                    "current version on entity and try again.",
                )
            spec = specs.find(row.spec_id, row.spec_version)
            result = patch.apply(row, ops)
            name = result.name
            if not isinstance(name, str) or not name.strip():
                raise errors.flow(
                    "1304-400",
                    "The mandatory field name is not provided. Please provide the name and try again.",
                )
            schema = specs.auth_spec(spec, row.auth_spec)
            # Secrets not touched by the patch are still there, as digests: they count as given.
            view = {k: ("(kept)" if v is patch.KEPT else v) for k, v in result.params.items()}
            specs.check_params(schema, view)
            fresh = {k: v for k, v in result.params.items() if v is not patch.KEPT}
            plain, digests = self._split(spec, fresh)
            kept = {k: row.secrets[k] for k, v in result.params.items() if v is patch.KEPT}
            return row.replace(
                name=name,
                description=result.description,
                params=plain,
                secrets={**kept, **digests},
                updated_at=max(self._now_ms(), row.updated_at),
                updated_by=who.client_id,
                updated_client=who.client_id,
                etag=new_etag(row.etag),
            )

        row = self._store.update(who.org, sandbox, id_, change)
        return {"id": row.id, "etag": row.etag}

    def test(self, who: Principal, sandbox: str, id_: str) -> dict[str, bool]:
        row = self._store.get(who.org, sandbox, id_)
        if row is None:
            raise errors.not_found(id_)
        if self._s3 is None or row.spec_id != specs.S3_SPEC_ID:
            return {"result": True}
        if row.auth_spec == "Access Key":
            secret = self._s3["accessKeys"].get(row.params.get("s3AccessKey"))
            ok = secret is not None and row.secrets.get("s3SecretKey") == self._store.digest(
                "s3SecretKey", secret
            )
        else:
            ok = row.params.get("bucketName") in self._s3["buckets"]
        return {"result": ok}

    def list(
        self, who: Principal, sandbox: str, params: dict[str, list[str]], config: Any
    ) -> dict[str, Any]:
        query = listing.parse(params, config.default_page_size, config.max_page_size)
        filters = query.filters(self._secret_params)
        if query.count:
            return {"count": self._store.count(who.org, sandbox, filters)}
        order = query.order
        rows, more = self._store.page(who.org, sandbox, filters, order, query.after, query.limit)
        out: dict[str, Any] = {"items": [render(r) for r in rows]}
        links: dict[str, Any] = {}
        if more and rows:
            last = rows[-1]
            key = None if order.column is None else getattr(last, _ATTR[order.column])
            token = listing.encode_token(query, (key, last.seq))
            links["next"] = {"href": f"/connections?continuationToken={token}"}
        out["_links"] = links
        return out


_ATTR = {"name": "name", "created_at": "created_at", "updated_at": "updated_at"}
