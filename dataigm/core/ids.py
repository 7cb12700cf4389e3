"""Deterministic ids, seeds and splits: stable across runs, machines, batch sizes and workers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

SPLITS = ("train", "test")
TEST_FRACTION = 0.2
SEED_SPACE = 2**31 - 1  # derived seeds stay below 2**31 (what most peer harnesses accept)
MAX_SEED = 2**64 - 1  # what torch.Generator.manual_seed accepts (imported seeds)


def _digest(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def image_seed(base_seed: int, pair_id: str, image_index: int) -> int:
    """The seed of image `image_index` of a pair; forget and retain twins share it."""
    return _digest("seed", base_seed, pair_id, image_index) % SEED_SPACE


def split_of(pair_id: str) -> str:
    """train/test from a stable hash of the pair id, so a pair never straddles splits and
    adding concepts never moves existing rows."""
    return "test" if (_digest("split", pair_id) % 10_000) < TEST_FRACTION * 10_000 else "train"


def bucket(key: str, buckets: int = 100) -> int:
    """A stable bucket of `key` in 0..buckets-1 (validation parts, deterministic samples)."""
    return _digest("bucket", key) % buckets


def config_hash(settings: dict[str, Any]) -> str:
    """A short, stable hash of a JSON-able settings mapping."""
    blob = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
