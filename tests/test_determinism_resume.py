"""Same seed -> same bytes; batch size never changes which image belongs to which row;
a killed build resumes with nothing lost, nothing duplicated and no rework of complete shards."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.conftest import smoke_build


def _rows(out: Path, concept: str) -> dict[str, dict]:
    rows = {}
    for path in sorted((out / concept).glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            rows[row["id"]] = row
    return rows


def _pixels(row: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB"), dtype=np.int16)


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    smoke_build(a, ["nudity"], image_limit=1)
    smoke_build(b, ["nudity"], image_limit=1)
    rows_a, rows_b = _rows(a, "nudity"), _rows(b, "nudity")
    assert rows_a.keys() == rows_b.keys() and len(rows_a) > 5
    for key in rows_a:
        assert rows_a[key]["sha256"] == rows_b[key]["sha256"]
        assert rows_a[key]["image"]["bytes"] == rows_b[key]["image"]["bytes"]
    for shard in sorted((a / "nudity").glob("*.parquet")):
        assert shard.read_bytes() == (b / "nudity" / shard.name).read_bytes()


def test_other_seed_other_images(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    smoke_build(a, ["church"], image_limit=1)
    smoke_build(b, ["church"], image_limit=1, base_seed=1)
    rows_a, rows_b = _rows(a, "church"), _rows(b, "church")
    # The base seed also draws the scenes, so a translation row (made only for a translated scene)
    # may exist in one build alone; every row id both builds have gets other seeds and images.
    common = rows_a.keys() & rows_b.keys()
    assert len(common) >= 0.8 * len(rows_a)
    assert all(rows_a[k]["seed"] != rows_b[k]["seed"] for k in common)
    assert all(rows_a[k]["sha256"] != rows_b[k]["sha256"] for k in common)


def test_batch_size_never_moves_images_between_rows(tmp_path):
    one, eight = tmp_path / "bs1", tmp_path / "bs8"
    smoke_build(one, ["van_gogh"], image_limit=1, batch_size=1)
    smoke_build(eight, ["van_gogh"], image_limit=1, batch_size=8)
    rows_1, rows_8 = _rows(one, "van_gogh"), _rows(eight, "van_gogh")
    ids = sorted(rows_1)
    assert ids == sorted(rows_8)
    assert [rows_1[i]["seed"] for i in ids] == [rows_8[i]["seed"] for i in ids]
    images_1 = np.stack([_pixels(rows_1[i]) for i in ids])
    images_8 = np.stack([_pixels(rows_8[i]) for i in ids])
    # Batched CPU kernels may round differently by one level of 255 on a few pixels, never more.
    assert np.abs(images_1 - images_8).max() <= 2
    distances = np.abs(images_1[:, None] - images_8[None]).mean(axis=(2, 3, 4))
    # Each row's own counterpart is its nearest image (a pair's twins share a seed and may tie).
    assert (np.diag(distances) <= distances.min(axis=1)).all()
    seeds = np.array([rows_1[i]["seed"] for i in ids])
    other_seed = seeds[:, None] != seeds[None]
    assert distances[other_seed].min() > 10 * np.diag(distances).max() + 1


@pytest.mark.slow
def test_killed_build_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "release"
    cmd = [sys.executable, "-m", "dataigm.cli", "build", "--preset", "smoke", "--out", str(out),
           "--concept", "nudity", "--image-limit", "3", "--shard-size", "4", "--batch-size", "2",
           "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    markers = out / "_build" / "images" / "nudity"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(markers.glob("*.done.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in markers.glob("*.done.json")}
    plan = json.loads((out / "_build" / "plan.json").read_text())
    n_shards = -(-plan["jobs"]["nudity"] // 4)
    assert 2 <= len(done_before) < n_shards, "the kill should land mid-build"
    assert not (out / "nudity").exists()  # nothing packed from a partial build

    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"skipped {len(done_before)}" in result.stdout
    for name, mtime in done_before.items():  # complete shards were not redone
        assert (markers / name).stat().st_mtime_ns == mtime
    rows = [r for p in sorted((out / "nudity").glob("*.parquet"))
            for r in pq.read_table(p, columns=["id"]).to_pylist()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == plan["jobs"]["nudity"]
    assert not list(out.rglob("*.tmp-*"))
