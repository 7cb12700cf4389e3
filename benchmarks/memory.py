"""Peak memory of `dataigm pack` and `dataigm judge` on configs of 2,000 and 20,000 rows, side by
side in one run: streaming keeps the peak independent of the config's size.

A small smoke build of church is made once, then its generated shard is replicated into a build of
N rows with new row ids and a distinct 128x128 noise PNG per row (~49 KB: incompressible, like real
images); pack and judge run in fresh processes whose peak RSS (ru_maxrss) is reported.

    uv run python benchmarks/memory.py [--sizes 2000 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PEAK = ("import resource, sys; from dataigm.cli import main; code = main(sys.argv[1:]); "
        "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)")


def peak(*args: str) -> int:
    """Peak RSS (MiB) of one dataigm command in a fresh process."""
    result = subprocess.run([sys.executable, "-c", PEAK, "-q", *args], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    kib = next(int(line.split()[1]) for line in result.stderr.splitlines() if line.startswith("PEAK_KIB"))
    return kib // 1024


def _noise_png(seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def scale(base: Path, out: Path, rows: int) -> None:
    """A copy of `base` whose church config has `rows` generated rows (replicated shards)."""
    import pyarrow as pa

    from dataigm.core.plan import PLAN, all_shards, load_plan, mark_complete, read_marker, shards_of
    from dataigm.core.storage import Store

    shutil.copytree(base, out)
    store = Store(str(out))
    plan = load_plan(store)
    template = all_shards(plan)[0]
    images = store.read_table(template.images)
    verdicts = store.read_table(template.verdicts)
    policy = read_marker(store, template.verdicts)["policy"]
    fingerprint = plan["fingerprint"]
    size = images.num_rows
    for shard in all_shards(plan):
        store.remove(shard.images)
        store.remove(shard.verdicts)
    plan["jobs"]["church"] = rows
    plan["config"]["shard_size"] = size
    for shard in shards_of("church", rows, size):
        n = shard.stop - shard.start
        ids = [f"church-scaled-{shard.start + i:06d}" for i in range(n)]
        part = images.slice(0, n)
        noise = [{"bytes": _noise_png(shard.start + i), "path": None} for i in range(n)]
        part = part.set_column(part.schema.get_field_index("image"), "image",
                               pa.array(noise, type=part.schema.field("image").type))
        part = part.set_column(part.schema.get_field_index("sha256"), "sha256",
                               pa.array([hashlib.sha256(x["bytes"]).hexdigest() for x in noise]))
        part = part.set_column(part.schema.get_field_index("id"), "id", pa.array(ids))
        part = part.set_column(part.schema.get_field_index("pair_id"), "pair_id", pa.array(ids))
        store.write_table(shard.images, part)
        mark_complete(store, shard.images, n, fingerprint=fingerprint)
        judged = verdicts.slice(0, n).set_column(0, "id", pa.array(ids))
        store.write_table(shard.verdicts, judged)
        mark_complete(store, shard.verdicts, n, policy=policy)
    store.write_json(PLAN, plan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dataigm-memory-"))
    base = root / "base"
    subprocess.run([sys.executable, "-m", "dataigm.cli", "-q", "build", "--preset", "smoke", "--out", str(base),
                    "--concept", "church", "--image-limit", "12", "--shard-size", "256", "--no-progress"], check=True)
    judge = root / "judge"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.judge_fixtures import build_tiny_clip
    from tests.test_publish import untrained_judge

    untrained_judge(judge, build_tiny_clip(root / "clip"))
    print(f"{'rows':>8}  {'pack peak MiB':>14}  {'judge peak MiB':>15}  {'config size MiB':>16}")
    for rows in args.sizes:
        folder = root / f"rows-{rows}"
        scale(base, folder, rows)
        pack_mib = peak("pack", str(folder), "--no-progress")
        judge_mib = peak("judge", "--judge", str(judge), str(folder), "--config", "church", "--out",
                         str(root / f"verdicts-{rows}.parquet"), "--no-progress")
        size = sum(p.stat().st_size for p in (folder / "church").glob("*.parquet")) / 2**20
        rows_out = sum(json.loads((folder / "dataigm.json").read_text())["configs"]["church"]["splits"].values())
        print(f"{rows_out:8d}  {pack_mib:14d}  {judge_mib:15d}  {size:16.1f}")


if __name__ == "__main__":
    main()
