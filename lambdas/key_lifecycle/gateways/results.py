"""S3: the files a Distributed Map's ResultWriter wrote (manifest.json and the SUCCEEDED, FAILED and PENDING
files it lists), read as one ChildRun per child execution."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from key_lifecycle.gateways.errors import call, paginate
from key_lifecycle.models.organization import ChildRun

MANIFEST = "manifest.json"
# The result files by the status of the executions they hold (manifest.json's ResultFiles).
RESULT_KINDS = ("SUCCEEDED", "FAILED", "PENDING")


class ResultFilesError(ValueError):
    """The result files are missing or not what a ResultWriter writes; the message says which, never their text."""


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _child(entry: dict[str, Any], kind: str) -> ChildRun:
    item = _json(entry["Input"]) if isinstance(entry.get("Input"), str) else entry.get("Input")
    account_id = item.get("account_id") if isinstance(item, dict) else None
    output = _json(entry["Output"]) if isinstance(entry.get("Output"), str) else entry.get("Output")
    return ChildRun(
        account_id=str(account_id) if account_id is not None else None,
        status=str(entry.get("Status") or kind),
        output=output,
        error=entry.get("Error"),
        cause=entry.get("Cause"),
    )


class ResultReader:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _text(self, bucket: str, key: str) -> str:
        body = call(self._client, "GetObject", Bucket=bucket, Key=key)["Body"]
        try:
            return str(body.read().decode("utf-8"))
        finally:
            body.close()

    def latest_manifest(self, bucket: str, prefix: str, written_after: datetime | None = None) -> str:
        """The key of the newest manifest.json under `prefix` (each map run writes its own, under its run id); with
        `written_after`, only one written at or after it (S3 keeps LastModified to the second)."""
        floor = written_after.replace(microsecond=0) if written_after is not None else None
        found = [
            item
            for item in paginate(self._client, "ListObjectsV2", "Contents", Bucket=bucket, Prefix=prefix)
            if str(item["Key"]).rsplit("/", 1)[-1] == MANIFEST and (floor is None or item["LastModified"] >= floor)
        ]
        if not found:
            raise ResultFilesError(f"no {MANIFEST} under the prefix" + (" since the run began" if floor else ""))
        return str(max(found, key=lambda item: (item["LastModified"], item["Key"]))["Key"])

    def child_runs(self, bucket: str, manifest_key: str) -> list[ChildRun]:
        """Every child execution the manifest lists, succeeded, failed (error and cause) or never run (pending)."""
        manifest = _json(self._text(bucket, manifest_key))
        files = manifest.get("ResultFiles") if isinstance(manifest, dict) else None
        if not isinstance(files, dict):
            raise ResultFilesError(f"{MANIFEST} lists no ResultFiles")
        destination = str(manifest.get("DestinationBucket") or bucket)
        runs: list[ChildRun] = []
        for kind in RESULT_KINDS:
            for file in files.get(kind) or []:
                runs.extend(_child(entry, kind) for entry in self._entries(destination, str(file["Key"])))
        return runs

    def _entries(self, bucket: str, key: str) -> list[dict[str, Any]]:
        text = self._text(bucket, key)
        whole = _json(text)
        # OutputType JSON: one list; JSONL: one execution per line.
        entries = whole if isinstance(whole, list) else [_json(line) for line in text.splitlines() if line.strip()]
        if not all(isinstance(entry, dict) for entry in entries):
            raise ResultFilesError(f"result file {key.rsplit('/', 1)[-1]} is not a list of executions")
        return entries
