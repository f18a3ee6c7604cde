"""Runs of enabled flows: made lazily, on each read, for every schedule point up to the
emulator's clock; ids, metrics and outcomes follow from the flow, its schedule and the seeded
bucket tree, so the same clock always shows the same runs."""

from __future__ import annotations

import uuid
from typing import Any

from provisioner.emulator import chain, docquery, errors, fixtures
from provisioner.emulator.chain import FLOW, RUN, SOURCE, Chain
from provisioner.emulator.connections import new_etag, sandbox_id
from provisioner.emulator.ims import Principal
from provisioner.emulator.store import Doc

UNIT = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}
MAX_RUNS_PER_FLOW = 500  # a long-past start time yields only the newest runs
RUN_SECONDS = 90  # how long a run stays inProgress
FAIL_EVERY = 6  # every 6th run of a flow (ordinals 5, 11, ...) fails: a copy error
_NS = uuid.UUID("4b0f1c61-8a43-4b53-9f0e-1f6d2b8f7c11")


def _enabled_at(periods: list[list[Any]], t: int) -> bool:
    return any(a <= t and (b is None or t < b) for a, b in periods)


def run_times(flow: dict[str, Any], now_s: int) -> list[tuple[int, int]]:
    """(ordinal, epoch seconds) of every run due by now_s while the flow was enabled."""
    schedule = flow["scheduleParams"]
    periods = flow.get("_enabled", [])
    if not periods:
        return []
    start = int(schedule["startTime"])
    created = periods[0][0]
    first = max(start, created)
    if schedule["frequency"] == "once":
        if _enabled_at(periods, first):
            return [(0, first)] if first <= now_s else []
        later = [a for a, _ in periods if a >= first and a <= now_s]
        return [(0, later[0])] if later else []
    step = int(schedule["interval"]) * UNIT[schedule["frequency"]]
    k0 = (first - start) // step + 1  # the first grid point after `first`
    k_max = (now_s - start) // step
    out: list[tuple[int, int]] = []
    k_min = max(k0, k_max - MAX_RUNS_PER_FLOW + 1)
    if k_min == k0 and first <= now_s and _enabled_at(periods, first):
        out.append((0, first))
    for k in range(k_min, k_max + 1):
        t = start + k * step
        if t > first and _enabled_at(periods, t):
            out.append((k - k0 + 1, t))
    return out


class Runs:
    """GET /runs and /runs/{id} over the flows of a Chain."""

    def __init__(self, flows: Chain) -> None:
        self.flows = flows
        self.docs = flows.docs

    def _now_s(self) -> int:
        return int(self.flows.clock())

    def materialize(self, who: Principal, sandbox: str) -> None:
        now_s = self._now_s()
        with self.flows.store.atomic():
            existing = {d.id for d in self.docs.all(RUN, who.org, sandbox)}
            for doc in self.docs.all(FLOW, who.org, sandbox):
                times = run_times(doc.body, now_s)
                previous: int | None = None
                for ordinal, t in times:
                    run_id = str(uuid.uuid5(_NS, f"{doc.id}/{t}"))
                    if run_id not in existing:
                        body = self._make(who, sandbox, doc.body, ordinal, t, previous)
                        self.docs.insert(RUN, who.org, sandbox, run_id, {"id": run_id, **body})
                    previous = t

    def _make(
        self,
        who: Principal,
        sandbox: str,
        flow: dict[str, Any],
        ordinal: int,
        t: int,
        previous: int | None,
    ) -> dict[str, Any]:
        files: list[fixtures.File] = []
        for sid in flow["sourceConnectionIds"]:
            src = self.docs.get(SOURCE, who.org, sandbox, sid)
            if src is None:
                continue
            params = src.body["params"]
            files += fixtures.select_files(params["path"], bool(params.get("recursive")))
        backfill = flow["scheduleParams"].get("backfill", True)
        t_ms = t * 1000
        if previous is None:
            lower = -1 if backfill else int(flow["scheduleParams"]["startTime"]) * 1000
        else:
            lower = previous * 1000
        files = [f for f in files if lower < f.modified <= t_ms]
        failed_run = ordinal % FAIL_EVERY == FAIL_EVERY - 1
        records = sum(f.records for f in files)
        bad = sum(f.bad_records for f in files)
        size = sum(f.size for f in files)
        errors_: list[dict[str, Any]] = []
        if failed_run:
            errors_.append(
                {
                    "code": "CONNECTOR-1001-500",
                    "message": "Error occurred while copying data from the source: the source "
                    "could not be read. The next scheduled run will try again.",
                }
            )
            written, failed, out_files, out_bytes = 0, 0, 0, 0
        else:
            if bad:
                errors_.append(
                    {
                        "code": "MAPPER-3700-400",
                        "message": "Mapper Transform Error",
                        "recordCount": bad,
                    }
                )
            written, failed = records - bad, bad
            out_files, out_bytes = len(files), int(size * 0.7)
        flow_id = flow["id"]
        return {
            "createdAt": t_ms,
            "updatedAt": t_ms + RUN_SECONDS * 1000,
            "createdBy": flow["createdBy"],
            "updatedBy": flow["createdBy"],
            "createdClient": flow["createdClient"],
            "updatedClient": flow["createdClient"],
            "sandboxId": sandbox_id(who.org, sandbox),
            "sandboxName": sandbox,
            "imsOrgId": who.org,
            "flowId": flow_id,
            "flowSpec": dict(flow["flowSpec"]),
            "providerRefId": f"M-{flow_id}-incremental-{ordinal}:{uuid.uuid5(_NS, str(t))}",
            "etag": new_etag(),
            "_ordinal": ordinal,
            "_status": "failed" if failed_run else "success",
            "_errors": errors_,
            "_in": [len(files), records, size],
            "_out": [out_files, written, failed, out_bytes],
            "_paths": [f.path for f in files],
        }

    def render(self, body: dict[str, Any]) -> dict[str, Any]:
        now_ms = int(self.flows.clock() * 1000)
        started = body["createdAt"]
        done = body["updatedAt"]
        running = now_ms < done
        in_files, in_records, in_bytes = body["_in"]
        out_files, written, failed, out_bytes = body["_out"]
        status = "inProgress" if running else body["_status"]
        duration: dict[str, Any] = {"startedAtUTC": started}
        if not running:
            duration["completedAtUTC"] = done
        status_summary: dict[str, Any] = {"status": status}
        if not running:
            status_summary["errors"] = body["_errors"]
        records: dict[str, Any] = {"inputRecordCount": in_records}
        files: dict[str, Any] = {"inputFileCount": in_files}
        if not running:
            records.update(
                createdRecordCount=written, outputRecordCount=written, failedRecordCount=failed
            )
            files["outputFileCount"] = out_files
        activities = [
            {
                "id": "copyActivity",
                "name": "Amazon S3 Copy Activity",
                "updatedAtUTC": done if not running else started,
                "durationSummary": duration,
                "sizeSummary": {"inputBytes": in_bytes, "outputBytes": in_bytes},
                "recordSummary": {},
                "fileSummary": {"inputFileCount": in_files},
                "statusSummary": {"status": status, "extensions": {"type": "one-time"}},
            },
            {
                "id": "promotionActivity",
                "name": "Promotion Activity",
                "updatedAtUTC": done if not running else started,
                "durationSummary": duration,
                "sizeSummary": {"inputBytes": in_bytes, "outputBytes": out_bytes},
                "recordSummary": {},
                "fileSummary": {"inputFileCount": in_files},
                "statusSummary": {"status": status, "extensions": {}},
            },
        ]
        out = chain.public(body)
        out["updatedAt"] = done if not running else started
        out["eTag"] = body["etag"]
        out["metrics"] = {
            "durationSummary": duration,
            "sizeSummary": {"inputBytes": in_bytes, "outputBytes": 0 if running else out_bytes},
            "recordSummary": records,
            "fileSummary": {
                **files,
                "manifest": {"fileInfo": [{"path": p, "pathPrefix": p} for p in body["_paths"]]},
            },
            "statusSummary": status_summary,
        }
        out["activities"] = activities
        out["activites"] = activities  # the spec's spelling (FlowRunItemDTO)
        return out

    def listing(
        self, who: Principal, sandbox: str, params: dict[str, list[str]], config: Any
    ) -> dict[str, Any]:
        self.materialize(who, sandbox)
        docs = self.docs.all(RUN, who.org, sandbox)

        def render(doc: Doc) -> dict[str, Any]:
            return self.render(doc.body)

        return docquery.listing_page(docs, render, params, config, "runs")

    def get(self, who: Principal, sandbox: str, id_: str) -> dict[str, Any]:
        self.materialize(who, sandbox)
        doc = self.docs.get(RUN, who.org, sandbox, id_)
        if doc is None:
            raise errors.not_found(id_)
        return {"items": [self.render(doc.body)]}

    def forget_flow(self, org: str, sandbox: str, flow_id: str) -> None:
        """A deleted flow's runs go with it."""
        for doc in self.docs.all(RUN, org, sandbox):
            if doc.body.get("flowId") == flow_id:
                self.docs.delete(RUN, org, sandbox, doc.id)

    def last_details(self, who: Principal, sandbox: str) -> dict[str, dict[str, Any]]:
        """flowId -> lastRunDetails of its latest finished run."""
        now_ms = int(self.flows.clock() * 1000)
        out: dict[str, dict[str, Any]] = {}
        for doc in self.docs.all(RUN, who.org, sandbox):
            body = doc.body
            if body["updatedAt"] > now_ms:
                continue
            seen = out.get(body["flowId"])
            if seen is None or seen["startedAtUTC"] < body["createdAt"]:
                out[body["flowId"]] = {
                    "id": body["id"],
                    "state": body["_status"],
                    "startedAtUTC": body["createdAt"],
                    "completedAtUTC": body["updatedAt"],
                }
        return out
