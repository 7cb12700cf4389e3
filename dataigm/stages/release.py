"""Writing configs in the Hub layout, streamed and transactional.

`<config>/<split>-NNNNN-of-NNNNN.parquet`: each shard carries its `datasets.Features`, shards stay
under 500 MB and row groups under ~100 MB. Rows are written as they arrive (peak memory is one row
group, not the config), into the work area's staging folder; `ReleaseTransaction.commit` then
writes a journal (the commit point) and moves every staged config, the manifest and the README into
place. A killed commit is rolled forward by `complete_interrupted_pack`, which every command that
writes or publishes a release folder calls first (readers refuse such a folder and name that
command), so the README, the manifest and the shards always describe the same release.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features

from dataigm.core import layout
from dataigm.core.ids import SPLITS
from dataigm.core.storage import Store

MAX_SHARD_BYTES = 500 * 1024**2
MAX_ROW_GROUP_BYTES = 100 * 1024**2
ROW_GROUP_TARGET = 64 * 1024**2  # buffered bytes per row group (well under the viewer's limit)


def rows_to_table(rows: list[dict], features: Features) -> pa.Table:
    """Rows as a table of the config's schema."""
    return pa.Table.from_pylist(rows, schema=features.arrow_schema)


class _SplitWriter:
    """Parquet files of one split, cut at `max_shard_bytes`, row groups flushed at a byte target."""

    def __init__(self, store: Store, folder: str, split: str, schema: pa.Schema, max_shard_bytes: int,
                 row_group_bytes: int):
        self.store, self.folder, self.split, self.schema = store, folder, split, schema
        self.max_shard_bytes, self.row_group_bytes = max_shard_bytes, row_group_bytes
        self.files: list[str] = []
        self.rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None
        self._sink = None
        self._written = 0

    def _open(self) -> None:
        rel = layout.partial_shard(self.folder, self.split, len(self.files))
        self.store.fs.makedirs(self.store.path(self.folder), exist_ok=True)
        self._sink = self.store.fs.open(self.store.path(rel), "wb")
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd")
        self.files.append(rel)
        self._written = 0

    def _flush(self, close_file: bool = False) -> None:
        if self._buffer:
            table = pa.concat_tables(self._buffer)
            if self._writer is None:
                self._open()
            self._writer.write_table(table, row_group_size=table.num_rows)
            self._written += self._buffered
            self._buffer, self._buffered = [], 0
        if close_file:
            self._close_file()

    def add(self, table: pa.Table, row_bytes: list[int]) -> None:
        start = 0
        for i, size in enumerate(row_bytes):
            over_group = self._buffered + size > self.row_group_bytes
            over_shard = self._written + self._buffered + size > self.max_shard_bytes
            if (over_group or over_shard) and (self._buffer or i > start):
                if i > start:
                    self._buffer.append(table.slice(start, i - start))
                    start = i
                self._flush(close_file=over_shard)
            self._buffered += size
        if start < table.num_rows:
            self._buffer.append(table.slice(start))
        self.rows += table.num_rows

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None
            self._written = 0

    def close(self) -> list[str]:
        self._flush()
        self._close_file()
        final = []
        for n, rel in enumerate(self.files):
            name = layout.shard_file(self.folder, self.split, n, len(self.files))
            self.store.rename(rel, name)
            final.append(name)
        return final


def _row_bytes(table: pa.Table) -> list[int]:
    """Approximate stored size of each row (image bytes dominate)."""
    if "image" in table.column_names:
        sizes = [len(b or b"") for b in table.column("image").combine_chunks().field("bytes").to_pylist()]
    else:
        sizes = [0] * table.num_rows
    rest = (table.nbytes - sum(sizes)) // max(table.num_rows, 1)
    return [s + rest for s in sizes]


class ConfigWriter:
    """Streams the rows of one config into its staging folder, split by their `split` column."""

    def __init__(self, store: Store, config: str, features: Features, max_shard_bytes: int = MAX_SHARD_BYTES,
                 row_group_bytes: int = ROW_GROUP_TARGET):
        self.store, self.config, self.features = store, config, features
        self.folder = layout.staged(config)
        store.remove(self.folder)
        self.schema = features.arrow_schema
        self.splits = {s: _SplitWriter(store, self.folder, s, self.schema, max_shard_bytes,
                                       min(row_group_bytes, MAX_ROW_GROUP_BYTES)) for s in SPLITS}

    def write(self, table: pa.Table) -> None:
        """Append rows (a table) to their splits' files."""
        table = table.select(self.schema.names).cast(self.schema)
        splits = table.column("split").to_pylist()
        sizes = _row_bytes(table)
        for split, writer in self.splits.items():
            idx = [i for i, s in enumerate(splits) if s == split]
            if idx:
                writer.add(table.take(idx), [sizes[i] for i in idx])
        unknown = set(splits) - set(SPLITS)
        if unknown:
            raise ValueError(f"rows with unknown splits {sorted(unknown)}")

    def write_rows(self, rows: list[dict]) -> None:
        """Append rows (dicts) to their splits' files."""
        self.write(rows_to_table(rows, self.features))

    def close(self) -> dict[str, int]:
        """Finish the staged files; returns rows per split (empty splits get no file)."""
        for writer in self.splits.values():
            writer.close()
        return {s: w.rows for s, w in self.splits.items()}


class ReleaseTransaction:
    """Stage configs and top-level files, then move them into place in one recoverable step."""

    def __init__(self, store: Store):
        self.store = store
        complete_interrupted_pack(store)  # a new transaction starts from a consistent folder
        self.configs: list[str] = []
        self.files: list[str] = []

    def config(self, config: str, features: Features, max_shard_bytes: int = MAX_SHARD_BYTES) -> ConfigWriter:
        """A writer staging the config `config` (replaced as a whole at commit)."""
        self.configs.append(config)
        return ConfigWriter(self.store, config, features, max_shard_bytes)

    def stage_file(self, name: str, data: bytes) -> None:
        """Stage a top-level file (manifest, card) for the commit."""
        self.store.write_bytes(layout.staged(name), data)
        self.files.append(name)

    def commit(self) -> None:
        """Write the journal (the commit point), then move everything staged into place."""
        self.store.write_json(layout.JOURNAL, {"configs": self.configs, "files": self.files})
        from dataigm.core import faults

        faults.point("pack:journal-written")
        complete_interrupted_pack(self.store)


def complete_interrupted_pack(store: Store) -> bool:
    """Roll a pack killed after its commit point forward (idempotent); returns whether one was
    found. Commands that write or publish a release folder call this first."""
    from dataigm.core import faults

    if not store.exists(layout.JOURNAL):
        return False
    journal = store.read_json(layout.JOURNAL, what="pack journal")
    for config in journal["configs"]:
        staged = layout.staged(config)
        if store.exists(staged):
            if store.exists(config):
                store.remove(layout.trashed(config))
                store.rename(config, layout.trashed(config))
            store.rename(staged, config)
            faults.point("pack:config-moved")
    for name in journal["files"]:
        if store.exists(layout.staged(name)):
            store.rename(layout.staged(name), name)
    store.remove(layout.TRASH)
    store.remove(layout.JOURNAL)
    store.remove(layout.STAGING)
    return True
