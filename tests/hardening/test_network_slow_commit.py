"""A create that commits but answers too late is never posted twice within a run."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.fakes import Reply, Request, env_for, manifest, run_cli


class SlowCommits:
    """Flow Service connections whose POST answers only after the client's deadline and
    commits `commit_after` seconds after it arrived (a slow backend behind the gateway)."""

    def __init__(self, commit_after: float) -> None:
        self.commit_after = commit_after
        self.items: list[dict[str, Any]] = []
        self.posts = 0
        self.lock = threading.Lock()

    def route(self, request: Request) -> Reply:
        if request.method == "POST" and request.path.endswith("/connections"):
            body = json.loads(request.body)
            item = {**body, "id": str(uuid.uuid4()), "etag": f'"{uuid.uuid4()}"', "state": "enabled"}
            with self.lock:
                self.posts += 1

            def commit() -> None:
                time.sleep(self.commit_after)
                with self.lock:
                    self.items.append(item)

            threading.Thread(target=commit, daemon=True).start()
            time.sleep(3)  # past the client's 1 s timeout: the answer never arrives in time
            return Reply(201, {"id": item["id"], "etag": item["etag"]})
        if request.method == "GET" and request.path.endswith("/connections"):
            with self.lock:
                return Reply(200, {"items": list(self.items), "_links": {}})
        if request.method == "PATCH" and "/connections/" in request.path:
            # An adopted connection's secrets are sent again (they cannot be read back).
            with self.lock:
                for item in self.items:
                    if request.path.endswith("/" + item["id"]):
                        item["etag"] = f'"{uuid.uuid4()}"'
                        return Reply(200, {"id": item["id"], "etag": item["etag"]})
        return Reply(404, {"error_code": "404", "message": "Not Found"})


@pytest.mark.slow
def test_an_unanswered_create_is_reported_uncertain_not_posted_again(fake: Any, tmp_path: Path) -> None:
    service = SlowCommits(commit_after=12)
    server = fake(service.route)
    manifest(tmp_path)
    env = env_for(server.url, AEP_HTTP_TIMEOUT="1")
    first = run_cli("apply", "--auto-approve", "--parallelism", "1", cwd=tmp_path, env=env, wall=90)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "was sent but never answered" in first.stderr and "it is not sent again" in first.stderr
    assert service.posts == 1  # never posted twice in one run
    deadline = time.monotonic() + 30
    while not service.items and time.monotonic() < deadline:
        time.sleep(0.2)
    again = run_cli("apply", "--auto-approve", cwd=tmp_path, env=env, wall=90)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 adopted" in again.stdout
    assert service.posts == 1 and len(service.items) == 1  # the late commit was adopted


@pytest.mark.slow
def test_an_unanswered_create_that_commits_soon_is_found_and_adopted(fake: Any, tmp_path: Path) -> None:
    service = SlowCommits(commit_after=4)
    server = fake(service.route)
    manifest(tmp_path)
    env = env_for(server.url, AEP_HTTP_TIMEOUT="1")
    r = run_cli("apply", "--auto-approve", cwd=tmp_path, env=env, wall=90)
    assert r.returncode == 0, r.stdout + r.stderr
    assert service.posts == 1 and len(service.items) == 1
    state = json.loads((tmp_path / "provisioner.state.json").read_text())
    (entry,) = next(iter(state["resources"].values()))["prod"].values()
    assert entry["id"] == service.items[0]["id"]
