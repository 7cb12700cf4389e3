"""Writing configs in the Hub layout: `<config>/<split>-NNNNN-of-NNNNN.parquet`, each shard
carrying its `datasets.Features`, shards <= 500 MB and row groups <= ~100 MB."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import Features

from dataigm.ids import SPLITS
from dataigm.storage import Store

MAX_SHARD_BYTES = 500 * 1024**2
MAX_ROW_GROUP_BYTES = 100 * 1024**2


def _row_bytes(table: pa.Table) -> list[int]:
    """Approximate stored size of each row (image bytes dominate)."""
    if "image" in table.column_names:
        sizes = [len(b or b"") for b in table.column("image").combine_chunks().field("bytes").to_pylist()]
    else:
        sizes = [0] * table.num_rows
    per_row_rest = (table.nbytes - sum(sizes)) // max(table.num_rows, 1)
    return [s + per_row_rest for s in sizes]


def _cut(sizes: list[int], limit: int) -> list[tuple[int, int]]:
    """Contiguous [start, stop) ranges whose summed size stays under `limit` (>= 1 row each)."""
    ranges, start, total = [], 0, 0
    for i, size in enumerate(sizes):
        if i > start and total + size > limit:
            ranges.append((start, i))
            start, total = i, 0
        total += size
    ranges.append((start, len(sizes)))
    return ranges


def write_config(store: Store, config: str, table: pa.Table, features: Features,
                 max_shard_bytes: int = MAX_SHARD_BYTES,
                 max_row_group_bytes: int = MAX_ROW_GROUP_BYTES) -> dict[str, int]:
    """Replace config `config` in `store` with `table` split by its `split` column.

    Empty splits get no file (and no `configs:` entry; see config_entry). Returns rows per split.
    """
    for old in store.glob(f"{config}/*.parquet"):
        store.remove(old)
    table = table.cast(features.arrow_schema)
    counts = {}
    for split in SPLITS:
        part = table.filter(pc.equal(table.column("split"), split))
        counts[split] = part.num_rows
        if not part.num_rows:
            continue
        sizes = _row_bytes(part)
        ranges = _cut(sizes, max_shard_bytes)
        for n, (start, stop) in enumerate(ranges):
            shard = part.slice(start, stop - start)
            rel = f"{config}/{split}-{n:05d}-of-{len(ranges):05d}.parquet"
            # Conservative: the largest row decides, so no row group can pass the limit.
            group_rows = max(1, max_row_group_bytes // max(sizes[start:stop], default=1))
            buf = io.BytesIO()
            pq.write_table(shard, buf, row_group_size=group_rows)
            store.write_bytes(rel, buf.getvalue())
    return counts


def rows_to_table(rows: list[dict[str, Any]], features: Features) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=features.arrow_schema)


def config_entry(config: str, splits: dict[str, int]) -> dict[str, Any]:
    """The README YAML `configs:` entry of one config: its non-empty splits."""
    return {"config_name": config,
            "data_files": [{"split": s, "path": f"{config}/{s}-*.parquet"} for s in SPLITS if splits.get(s)]}
