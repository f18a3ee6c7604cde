"""--db: connections survive a restart; tokens do not (they live in memory)."""

from __future__ import annotations

from typing import Any

from emulator_helpers import Api, s3_body

from provisioner.emulator import Emulator, EmulatorConfig


def test_connections_survive_a_restart_with_the_same_db(tmp_path: Any) -> None:
    db = str(tmp_path / "emulator.db")
    with Emulator(EmulatorConfig(port=0, db_path=db)) as first:
        api = Api(first.url)
        kept = api.create(s3_body("kept", s3AccessKey="AK", s3SecretKey="SK", bucketName="b"))
        gone = api.create(s3_body("gone"))
        api.call("DELETE", f"/connections/{gone['id']}")
        dev = api.create(s3_body("dev-one"), sandbox="dev")
        before = api.get(kept["id"])
        old_token = api.token

    with Emulator(EmulatorConfig(port=0, db_path=db)) as second:
        stale = Api(second.url)
        stale.token = old_token
        assert stale.call("GET", "/connections").json()["error_code"] == "401013"

        api = Api(second.url)
        assert api.get(kept["id"]) == before  # same fields, same etag, secrets still masked
        assert [i["name"] for i in api.list_all()] == ["kept"]
        assert [i["id"] for i in api.list_all("dev")] == [dev["id"]]
        # The stored etag still guards updates after the restart.
        ok = api.call(
            "PATCH",
            f"/connections/{kept['id']}",
            headers={"If-Match": before["etag"]},
            json=[{"op": "replace", "path": "/name", "value": "renamed"}],
        )
        assert ok.status_code == 200
        # New connections are listed after the old ones.
        api.create(s3_body("after-restart"))
        assert [i["name"] for i in api.list_all()] == ["renamed", "after-restart"]


def test_without_db_nothing_survives(tmp_path: Any) -> None:
    with Emulator(EmulatorConfig(port=0)) as first:
        Api(first.url).create()
    with Emulator(EmulatorConfig(port=0)) as second:
        assert Api(second.url).list_all() == []
