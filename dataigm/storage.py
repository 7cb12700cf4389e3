"""Atomic writes and completion markers on any fsspec location (local disk first)."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


class Store:
    """A folder on an fsspec filesystem: `Store("/data/out")`, `Store("s3://bucket/out")`."""

    def __init__(self, url: str):
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.url = url
        self.local = self.fs.protocol in ("file", ("file", "local"), "local") or "file" in self.fs.protocol

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def exists(self, rel: str) -> bool:
        return self.fs.exists(self.path(rel))

    def glob(self, pattern: str) -> list[str]:
        root = self.root.rstrip("/") + "/"
        return sorted(p[len(root):] if p.startswith(root) else p for p in self.fs.glob(self.path(pattern)))

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write to a temporary name, then rename: readers never see a partial file."""
        final = self.path(rel)
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{final}.tmp-{uuid.uuid4().hex[:8]}"
        with self.fs.open(tmp, "wb") as f:
            f.write(data)
        self.fs.mv(tmp, final)

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open(self.path(rel), "rb") as f:
            return f.read()

    def write_json(self, rel: str, obj: Any) -> None:
        self.write_bytes(rel, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, rel: str) -> Any:
        return json.loads(self.read_bytes(rel))

    def write_table(self, rel: str, table: pa.Table, row_group_size: int | None = None) -> None:
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=row_group_size, compression="zstd")
        self.write_bytes(rel, buf.getvalue())

    def read_table(self, rel: str) -> pa.Table:
        with self.fs.open(self.path(rel), "rb") as f:
            return pq.read_table(f)

    def remove(self, rel: str) -> None:
        if self.exists(rel):
            self.fs.rm(self.path(rel), recursive=True)
