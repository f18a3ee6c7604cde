"""Flow Service's chain resources over the store: source connections, target connections and
flows (create, read, list, patch, delete, enable/disable), with the referential rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from provisioner.emulator import docpatch, docquery, errors, fixtures, specs
from provisioner.emulator.connections import new_etag, sandbox_id
from provisioner.emulator.ims import Principal
from provisioner.emulator.store import Doc, Documents, Store

SOURCE = "sourceConnection"
TARGET = "targetConnection"
FLOW = "flow"
MAPPING = "mappingSet"
RUN = "run"
FORMATS = ("delimited", "json", "parquet")
COMPRESSIONS = ("bzip2", "gzip", "deflate", "zipDeflate", "tarGzip", "tar")
FREQUENCIES = ("once", "minute", "hour", "day", "week")


def bad(message: str) -> errors.HttpError:
    return errors.flow("1000-400", message)


def missing(label: str) -> errors.HttpError:
    return errors.flow(
        "1304-400",
        f"The mandatory field {label} is not provided. Please provide the {label} and try again.",
    )


def not_found(kind: str, id_: str) -> errors.HttpError:
    if kind == FLOW:
        return errors.flow(
            "1439-404", f"The requested flows resource with id {id_} is not found.", id=id_
        )
    return errors.not_found(id_)


def meta(who: Principal, sandbox: str, id_: str, now_ms: int) -> dict[str, Any]:
    return {
        "id": id_,
        "createdAt": now_ms,
        "updatedAt": now_ms,
        "createdBy": who.client_id,
        "updatedBy": who.client_id,
        "createdClient": who.client_id,
        "updatedClient": who.client_id,
        "sandboxId": sandbox_id(who.org, sandbox),
        "sandboxName": sandbox,
        "imsOrgId": who.org,
    }


def public(body: dict[str, Any]) -> dict[str, Any]:
    """The stored body without the emulator's private bookkeeping ("_..." keys)."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.")
    return body


def _string(value: Any, label: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        if value is None or value == "":
            raise missing(label)
        raise bad(f"The field {label} must be a string.")
    return value


def _spec_ref(body: dict[str, Any], key: str) -> tuple[str, str]:
    ref = body.get(key)
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str) or not ref["id"]:
        raise missing(f"{key}.id")
    version = ref.get("version", "1.0")
    if not isinstance(version, str):
        raise bad(f"The field {key}.version must be a string.")
    return ref["id"], version


def _as_bool(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad(f"The field {label} must be a boolean.")


def _as_int(value: Any, label: str) -> int:
    if isinstance(value, bool):
        raise bad(f"The field {label} must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise bad(f"The field {label} must be an integer.")


def check_source_data(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise missing("data")
    fmt = data.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise missing("data.format")
    if fmt.lower() not in FORMATS:
        raise bad(f"The data.format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")
    out: dict[str, Any] = {k: v for k, v in data.items() if k not in ("format", "properties")}
    out["format"] = fmt.lower()
    props = dict(data.get("properties") or {})
    for old in ("columnDelimiter", "encoding", "compressionType"):
        if old in out:  # the older tutorial puts them directly under data
            props.setdefault(old, out.pop(old))
    delim = props.get("columnDelimiter")
    if delim is not None and (not isinstance(delim, str) or len(delim) != 1):
        raise bad("The data.properties.columnDelimiter must be a single character.")
    comp = props.get("compressionType")
    if comp is not None and comp not in COMPRESSIONS:
        raise bad(
            f"The data.properties.compressionType {comp!r} is not supported; use one of "
            f"{', '.join(COMPRESSIONS)}."
        )
    enc = props.get("encoding")
    if enc is not None and enc not in ("UTF-8", "ISO-8859-1"):
        raise bad("The data.properties.encoding must be UTF-8 or ISO-8859-1.")
    if props:
        out["properties"] = props
    return out


def check_source_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise missing("params.path")
    path = params.get("path")
    if not isinstance(path, str) or not path:
        raise missing("params.path")
    if not path.startswith("/"):
        raise bad(f"The params.path {path!r} must start with '/' and the bucket name.")
    out = dict(params)
    if "recursive" in out:
        out["recursive"] = _as_bool(out["recursive"], "params.recursive")
    kind = out.get("type")
    if kind is not None and kind not in ("file", "folder"):
        raise bad("The params.type must be 'file' or 'folder'.")
    return out


def check_schedule(value: Any) -> dict[str, Any]:
    """scheduleParams against the flow spec's JSON Schema; stored with the spec's types."""
    if not isinstance(value, dict):
        raise missing("scheduleParams")
    if value.get("startTime") in (None, ""):
        raise missing("scheduleParams.startTime")
    start = _as_int(value["startTime"], "scheduleParams.startTime")
    if start < 0:
        raise bad("The scheduleParams.startTime must be epoch seconds, not negative.")
    freq = value.get("frequency")
    if not isinstance(freq, str) or not freq:
        raise missing("scheduleParams.frequency")
    freq = freq.lower()
    if freq not in FREQUENCIES:
        raise bad(
            f"The scheduleParams.frequency {value['frequency']!r} is not one of "
            f"{', '.join(FREQUENCIES)}."
        )
    out: dict[str, Any] = {"startTime": start, "frequency": freq}
    if freq == "once":
        return out  # a stray interval/backfill is ignored (the spec's examples disagree)
    if value.get("interval") in (None, ""):
        raise missing("scheduleParams.interval")
    interval = _as_int(value["interval"], "scheduleParams.interval")
    least = 15 if freq == "minute" else 1
    if interval < least:
        raise bad(f"The scheduleParams.interval must be at least {least} for frequency {freq}.")
    out["interval"] = str(interval)
    if "backfill" in value:
        out["backfill"] = _as_bool(value["backfill"], "scheduleParams.backfill")
    return out



def _connection_field(parts: list[str]) -> None:
    """What a PATCH of a source or target connection may change."""
    if parts[0] == "connectionSpec":
        raise errors.flow("1414-400", "The connection spec of a connection cannot be updated.")
    if parts[0] not in ("name", "description", "params", "data"):
        raise docpatch._invalid(f"the field {'/'.join(parts)} cannot be updated")

class Chain:
    """Source connections, target connections and flows of one emulator."""

    def __init__(
        self,
        store: Store,
        catalog: fixtures.Catalog,
        clock: Callable[[], float],
        on_flows_changed: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.docs = Documents(store)
        self.catalog = catalog
        self.clock = clock
        self._flow_deleted = on_flows_changed
        # Set by the app: runs are brought up to date, and summarised, before a flow is shown.
        self.before_flow_read: Callable[[Principal, str], None] | None = None
        self.last_runs: Callable[[Principal, str], dict[str, dict[str, Any]]] | None = None

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- shared ----------------------------------------------------------------------------

    def _get(self, kind: str, who: Principal, sandbox: str, id_: str) -> dict[str, Any]:
        doc = self.docs.get(kind, who.org, sandbox, id_)
        if doc is None:
            raise not_found(kind, id_)
        return doc.body

    def get(self, kind: str, who: Principal, sandbox: str, id_: str) -> dict[str, Any]:
        body = self._get(kind, who, sandbox, id_)
        last = self._last_runs(kind, who, sandbox)
        return {"items": [self.render(kind, who, sandbox, body, last)]}

    def _last_runs(self, kind: str, who: Principal, sandbox: str) -> dict[str, dict[str, Any]]:
        if kind != FLOW:
            return {}
        if self.before_flow_read is not None:
            self.before_flow_read(who, sandbox)
        return {} if self.last_runs is None else self.last_runs(who, sandbox)

    def render(
        self,
        kind: str,
        who: Principal,
        sandbox: str,
        body: dict[str, Any],
        last: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        out = public(body)
        if kind == FLOW:
            out["inheritedAttributes"] = self._inherited(who, sandbox, body)
            if last and body["id"] in last:
                out["lastRunDetails"] = last[body["id"]]
        return out

    def listing(
        self, kind: str, who: Principal, sandbox: str, params: dict[str, list[str]], config: Any
    ) -> dict[str, Any]:
        last = self._last_runs(kind, who, sandbox)
        docs = self.docs.all(kind, who.org, sandbox)
        resource = {SOURCE: "sourceConnections", TARGET: "targetConnections", FLOW: "flows"}[kind]

        def render(doc: Doc) -> dict[str, Any]:
            return self.render(kind, who, sandbox, doc.body, last)

        return docquery.listing_page(docs, render, params, config, resource)

    def flows_using(self, who: Principal, sandbox: str, key: str, id_: str) -> list[str]:
        """Ids of the flows whose `key` list ("sourceConnectionIds", ...) holds id_."""
        return [d.id for d in self.docs.all(FLOW, who.org, sandbox) if id_ in d.body.get(key, [])]

    def flows_on_base(self, who: Principal, sandbox: str, base_id: str) -> list[str]:
        sources = {
            d.id
            for d in self.docs.all(SOURCE, who.org, sandbox)
            if d.body.get("baseConnectionId") == base_id
        }
        return [
            d.id
            for d in self.docs.all(FLOW, who.org, sandbox)
            if sources.intersection(d.body.get("sourceConnectionIds", []))
        ]

    def _new(
        self,
        kind: str,
        who: Principal,
        sandbox: str,
        body: dict[str, Any],
        id_: str | None = None,
    ) -> dict[str, str]:
        id_ = id_ or str(uuid.uuid4())
        etag = new_etag()
        full = {**meta(who, sandbox, id_, self.now_ms()), **body, "version": etag, "etag": etag}
        self.docs.insert(kind, who.org, sandbox, id_, full)
        return {"id": id_, "etag": etag}

    def _touch(self, who: Principal, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        etag = new_etag(old["etag"])
        new.update(
            updatedAt=max(self.now_ms(), old["updatedAt"]),
            updatedBy=who.client_id,
            updatedClient=who.client_id,
            version=etag,
            etag=etag,
        )
        return new

    @staticmethod
    def _check_etag(body: dict[str, Any], if_match: str) -> None:
        supplied = if_match.strip()
        if supplied not in (body["etag"], body["etag"].strip('"')):
            raise errors.flow(
                "1404-412",
                f"The supplied version '{supplied}' does not match the current version on "
                f"entity '{body['etag']}'. Please ensure that the supplied version matches the "
                "current version on entity and try again.",
            )

    def delete(self, kind: str, who: Principal, sandbox: str, id_: str) -> None:
        with self.store.atomic():
            self._get(kind, who, sandbox, id_)
            if kind in (SOURCE, TARGET):
                key = "sourceConnectionIds" if kind == SOURCE else "targetConnectionIds"
                users = self.flows_using(who, sandbox, key, id_)
                if users:
                    raise errors.flow(
                        "1447-400",
                        f"Found active flows containing id {id_}: {', '.join(users)}. "
                        "Please delete the flows first and try again.",
                    )
            self.docs.delete(kind, who.org, sandbox, id_)
            if kind == FLOW and self._flow_deleted is not None:
                self._flow_deleted(who.org, sandbox, id_)

    # -- source connections ----------------------------------------------------------------

    def create_source(self, who: Principal, sandbox: str, raw: Any) -> dict[str, str]:
        body = _object(raw)
        name = _string(body.get("name"), "name")
        description = _string(body.get("description"), "description", required=False)
        base_id = _string(body.get("baseConnectionId"), "baseConnectionId")
        spec_id, version = _spec_ref(body, "connectionSpec")
        spec = specs.find(spec_id, version)
        data = check_source_data(body.get("data"))
        params = check_source_params(body.get("params"))
        with self.store.atomic():
            base = self.store.get(who.org, sandbox, str(base_id))
            if base is None:
                raise bad(f"The base connection {base_id} does not exist in sandbox {sandbox}.")
            if base.spec_id != spec["id"]:
                raise errors.flow(
                    "1413-400",
                    f"The connection spec {spec_id} does not match the connection spec "
                    f"{base.spec_id} of base connection {base_id}.",
                )
            stored: dict[str, Any] = {"name": name}
            if description is not None:
                stored["description"] = description
            stored.update(
                baseConnectionId=base_id,
                state="enabled",
                data=data,
                connectionSpec={"id": spec["id"], "version": spec["version"]},
                params=params,
                providerRefId=fixtures.PROVIDER_ID,
                inheritedAttributes={
                    "baseConnection": {
                        "id": base_id,
                        "connectionSpec": {"id": base.spec_id, "version": base.spec_version},
                    }
                },
            )
            return self._new(SOURCE, who, sandbox, stored)

    def patch_source(
        self, who: Principal, sandbox: str, id_: str, if_match: str, ops: list[dict[str, Any]]
    ) -> dict[str, Any]:
        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise not_found(SOURCE, id_)
            self._check_etag(old, if_match)
            new = docpatch.apply(old, ops, _connection_field)
            _string(new.get("name"), "name")
            if new.get("description") is not None:
                _string(new["description"], "description")
            new["data"] = check_source_data(new.get("data"))
            new["params"] = check_source_params(new.get("params"))
            return self._touch(who, old, new)

        new = self.docs.update(SOURCE, who.org, sandbox, id_, change)
        return {"id": id_, "etag": new["etag"], "items": [self.render(SOURCE, who, sandbox, new)]}

    # -- target connections ----------------------------------------------------------------

    def _check_target(self, data: Any, params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(data, dict):
            raise missing("data")
        schema = data.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("id"), str):
            raise missing("data.schema.id")
        if not isinstance(params, dict) or not isinstance(params.get("dataSetId"), str):
            raise missing("params.dataSetId")
        dataset = self.catalog.dataset(params["dataSetId"])
        if dataset is None:
            raise bad(f"The dataset {params['dataSetId']} does not exist.")
        if dataset.schema.id != schema["id"]:
            raise bad(
                f"The schema {schema['id']} is not the schema of dataset {dataset.id} "
                f"({dataset.schema.id}); the target connection must name the dataset's schema."
            )
        return dict(data), dict(params)

    def create_target(self, who: Principal, sandbox: str, raw: Any) -> dict[str, str]:
        body = _object(raw)
        name = _string(body.get("name"), "name", required=False)
        description = _string(body.get("description"), "description", required=False)
        spec_id, version = _spec_ref(body, "connectionSpec")
        if spec_id != fixtures.DATA_LAKE_SPEC_ID or version != "1.0":
            raise errors.flow(
                "1413-400",
                "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
            )
        data, params = self._check_target(body.get("data"), body.get("params"))
        stored: dict[str, Any] = {}
        if name is not None:
            stored["name"] = name
        if description is not None:
            stored["description"] = description
        stored.update(
            state="enabled",
            data=data,
            connectionSpec={"id": spec_id, "version": version},
            params=params,
            providerRefId=fixtures.PROVIDER_ID,
        )
        return self._new(TARGET, who, sandbox, stored)

    def patch_target(
        self, who: Principal, sandbox: str, id_: str, if_match: str, ops: list[dict[str, Any]]
    ) -> dict[str, Any]:
        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise not_found(TARGET, id_)
            self._check_etag(old, if_match)
            new = docpatch.apply(old, ops, _connection_field)
            for key in ("name", "description"):
                if new.get(key) is not None:
                    _string(new[key], key)
            new["data"], new["params"] = self._check_target(new.get("data"), new.get("params"))
            return self._touch(who, old, new)

        new = self.docs.update(TARGET, who.org, sandbox, id_, change)
        return {"id": id_, "etag": new["etag"], "items": [self.render(TARGET, who, sandbox, new)]}

    # -- flows -----------------------------------------------------------------------------

    def _inherited(self, who: Principal, sandbox: str, flow: dict[str, Any]) -> dict[str, Any]:
        sources = []
        for sid in flow.get("sourceConnectionIds", []):
            doc = self.docs.get(SOURCE, who.org, sandbox, sid)
            entry: dict[str, Any] = {"id": sid}
            if doc is not None:
                entry["connectionSpec"] = doc.body["connectionSpec"]
                entry["baseConnection"] = doc.body["inheritedAttributes"]["baseConnection"]
            sources.append(entry)
        targets = []
        for tid in flow.get("targetConnectionIds", []):
            doc = self.docs.get(TARGET, who.org, sandbox, tid)
            entry = {"id": tid}
            if doc is not None:
                entry["connectionSpec"] = doc.body["connectionSpec"]
            targets.append(entry)
        return {"sourceConnections": sources, "targetConnections": targets}

    def _ids(self, body: dict[str, Any], key: str) -> list[str]:
        value = body.get(key)
        if not isinstance(value, list) or not value:
            raise missing(key)
        if not all(isinstance(v, str) and v for v in value):
            raise bad(f"The field {key} must be a list of ids.")
        return list(value)

    def check_transformations(self, who: Principal, sandbox: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise bad("The field transformations must be a list.")
        out = []
        for t in value:
            if not isinstance(t, dict) or not isinstance(t.get("name"), str):
                raise missing("transformations[].name")
            params = t.get("params")
            if not isinstance(params, dict):
                raise missing("transformations[].params")
            params = dict(params)
            if t["name"].lower() == "mapping":
                mapping_id = params.get("mappingId")
                if not isinstance(mapping_id, str) or not mapping_id:
                    raise missing("transformations[].params.mappingId")
                if params.get("mappingVersion") in (None, ""):
                    raise missing("transformations[].params.mappingVersion")
                params["mappingVersion"] = str(
                    _as_int(params["mappingVersion"], "transformations[].params.mappingVersion")
                )
            out.append({**t, "params": params})
        return out

    def _check_flow_refs(self, who: Principal, sandbox: str, flow: dict[str, Any]) -> None:
        """The flow's connections and mapping exist, fit the flow spec and share one schema."""
        spec = fixtures.FLOW_SPECS[flow["flowSpec"]["id"]]
        dataset_schema = None
        for sid in flow["sourceConnectionIds"]:
            doc = self.docs.get(SOURCE, who.org, sandbox, sid)
            if doc is None:
                raise bad(f"The source connection {sid} does not exist in sandbox {sandbox}.")
            if doc.body["connectionSpec"]["id"] not in spec["sourceConnectionSpecIds"]:
                raise errors.flow(
                    "1413-400",
                    f"The source connection {sid} has a connection spec the flow spec "
                    f"{spec['name']} does not accept.",
                )
        for tid in flow["targetConnectionIds"]:
            doc = self.docs.get(TARGET, who.org, sandbox, tid)
            if doc is None:
                raise bad(f"The target connection {tid} does not exist in sandbox {sandbox}.")
            if doc.body["connectionSpec"]["id"] not in spec["targetConnectionSpecIds"]:
                raise errors.flow(
                    "1413-400",
                    f"The target connection {tid} has a connection spec the flow spec "
                    f"{spec['name']} does not accept.",
                )
            dataset = self.catalog.dataset(doc.body["params"]["dataSetId"])
            if dataset is not None:
                dataset_schema = dataset.schema.id
        for t in flow.get("transformations", []):
            if t["name"].lower() != "mapping":
                continue
            params = t["params"]
            mdoc = self.docs.get(MAPPING, who.org, sandbox, params["mappingId"])
            version = int(params["mappingVersion"])
            if mdoc is None or not 0 <= version < len(mdoc.body["versions"]):
                raise errors.flow(
                    "1412-400",
                    f"Invalid mapping version {params['mappingVersion']} of mapping "
                    f"{params['mappingId']} in the request.",
                )
            mapped = mdoc.body["versions"][version]["outputSchema"]["schemaRef"]["id"]
            if dataset_schema is not None and mapped != dataset_schema:
                raise errors.flow(
                    "1425-400",
                    f"The schema of the mapping ({mapped}) and the schema of the target dataset "
                    f"({dataset_schema}) differ. Schema with same id and version must be used in "
                    "both mapping and target dataset.",
                )

    def create_flow(self, who: Principal, sandbox: str, raw: Any) -> dict[str, str]:
        body = _object(raw)
        if "state" in body:
            raise errors.flow("1410-400", "State is not allowed in the create flow request.")
        spec_id, version = _spec_ref(body, "flowSpec")
        if spec_id not in fixtures.FLOW_SPECS or version != "1.0":
            raise errors.flow(
                "1413-400",
                "The spec ID provided is invalid. Please provide a valid spec ID and try again.",
            )
        name = _string(body.get("name"), "name")
        description = _string(body.get("description"), "description", required=False)
        stored: dict[str, Any] = {"name": name}
        if description is not None:
            stored["description"] = description
        stored.update(
            flowSpec={"id": spec_id, "version": version},
            state="enabled",
            sourceConnectionIds=self._ids(body, "sourceConnectionIds"),
            targetConnectionIds=self._ids(body, "targetConnectionIds"),
            transformations=self.check_transformations(who, sandbox, body.get("transformations")),
            scheduleParams=check_schedule(body.get("scheduleParams")),
        )
        now = self.now_ms()
        id_ = str(uuid.uuid4())
        stored.update(
            runs=f"/runs?property=flowId=={id_}",
            lastOperation={"started": now, "updated": now, "operation": "create"},
            _enabled=[[now // 1000, None]],
        )
        with self.store.atomic():
            self._check_flow_refs(who, sandbox, stored)
            return self._new(FLOW, who, sandbox, stored, id_)

    def patch_flow(
        self, who: Principal, sandbox: str, id_: str, if_match: str, ops: list[dict[str, Any]]
    ) -> dict[str, str]:
        def allowed(parts: list[str]) -> None:
            if parts[0] not in ("name", "description", "scheduleParams", "transformations"):
                raise docpatch._invalid(f"the field {'/'.join(parts)} cannot be updated")

        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise not_found(FLOW, id_)
            self._check_etag(old, if_match)
            new = docpatch.apply(old, ops, allowed)
            _string(new.get("name"), "name")
            if new.get("description") is not None:
                _string(new["description"], "description")
            new["scheduleParams"] = check_schedule(new.get("scheduleParams"))
            new["transformations"] = self.check_transformations(
                who, sandbox, new.get("transformations")
            )
            self._check_flow_refs(who, sandbox, new)
            now = self.now_ms()
            new["lastOperation"] = {"started": now, "updated": now, "operation": "update"}
            return self._touch(who, old, new)

        new = self.docs.update(FLOW, who.org, sandbox, id_, change)
        return {"id": id_, "etag": new["etag"]}

    def flow_action(self, who: Principal, sandbox: str, id_: str, op: str) -> dict[str, str]:
        wanted = op.strip().lower()
        if wanted not in ("enable", "disable", "publish", "finalize", "finalize_update"):
            raise bad(f"The operation {op!r} is not supported; use enable or disable.")

        def change(old: dict[str, Any] | None) -> dict[str, Any]:
            if old is None:
                raise not_found(FLOW, id_)
            if wanted not in ("enable", "disable"):
                raise errors.flow(
                    "1422-400",
                    f"The action {wanted} cannot be applied on the current state {old['state']}.",
                )
            new = dict(old)
            now = self.now_ms()
            periods = [list(p) for p in old.get("_enabled", [])]
            if wanted == "enable" and old["state"] != "enabled":
                periods.append([now // 1000, None])
            if wanted == "disable" and old["state"] == "enabled" and periods:
                periods[-1][1] = now // 1000
            new["_enabled"] = periods
            new["state"] = "enabled" if wanted == "enable" else "disabled"
            new["lastOperation"] = {"started": now, "updated": now, "operation": wanted}
            return self._touch(who, old, new)

        new = self.docs.update(FLOW, who.org, sandbox, id_, change)
        return {"id": id_, "etag": new["etag"]}
