"""`GET /connections/{id}/explore`: the seeded bucket tree, as a cloud storage source shows it."""

from __future__ import annotations

from typing import Any

from provisioner.emulator import errors, fixtures
from provisioner.emulator.store import Row

_PREVIEWABLE = (".csv", ".csv.gz", ".json", ".parquet", ".tsv", ".txt")


def _missing(path: str) -> errors.HttpError:
    return errors.flow(
        "1101-404",
        "The requested resource is not found. Error from flow provider: "
        f"the path {path} does not exist.",
        path=path,
    )


def _folder_item(path: str) -> dict[str, Any]:
    return {
        "type": "folder",
        "name": path.rsplit("/", 1)[1],
        "path": path + "/",
        "canPreview": False,
        "canFetchSchema": False,
    }


def _file_item(f: fixtures.File) -> dict[str, Any]:
    ok = f.name.endswith(_PREVIEWABLE)
    return {"type": "file", "name": f.name, "path": f.path, "canPreview": ok, "canFetchSchema": ok}


def explore(conn: Row, params: dict[str, list[str]]) -> list[dict[str, Any]]:
    def last(name: str) -> str | None:
        # Names are matched case-insensitively: the spec writes FileType, the tutorials fileType.
        for key, values in params.items():
            if key.lower() == name.lower() and values:
                return values[-1]
        return None

    object_type = (last("objectType") or "").lower()
    obj = last("object")
    if object_type not in ("root", "folder", "file"):
        raise errors.flow(
            "1358-400",
            f"The provided param 'objectType' is invalid: {last('objectType')!r}; use root, "
            "folder or file.",
        )
    folders = fixtures.folders()
    bucket = conn.params.get("bucketName")
    if object_type == "root" or (object_type == "folder" and obj in ("root", "/")):
        roots = sorted(p for p in folders if p.count("/") == 1)
        if bucket:
            roots = [p for p in roots if p == "/" + bucket]
        return [_folder_item(p) for p in roots]
    if not obj:
        raise errors.flow("1337-400", f"The object cannot be empty for objectType={object_type}.")
    path = "/" + obj.strip("/")
    if bucket and path.split("/")[1] != bucket:
        raise _missing(path)
    if object_type == "file":
        found = [f for f in fixtures.FILES if f.path == path]
        if not found:
            raise _missing(path)
        return [{"name": c, "type": "String"} for c in found[0].columns]
    if path not in folders:
        raise _missing(path)
    subfolders = sorted(p for p in folders if p.rsplit("/", 1)[0] == path)
    files = sorted(
        (f for f in fixtures.FILES if f.path.rsplit("/", 1)[0] == path), key=lambda f: f.path
    )
    return [_folder_item(p) for p in subfolders] + [_file_item(f) for f in files]
