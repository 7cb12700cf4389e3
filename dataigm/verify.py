"""`dataigm verify`: is a release what it says it is?

1. structure: README configs, manifest, shards, row counts, embedded schema, nsfw flags agree;
2. images: every stored image's bytes hash to its row's `sha256`;
3. regeneration: N randomly chosen rows are generated again from their own columns (prompt, seed,
   scheduler config, steps, guidance, size, dtype, model revision) together with the rest of the
   batch they were made in (batch_id, batch_position: on CPU batch composition moves pixels), and
   the bytes must be identical.
Every problem is one report row; the command exits non-zero on any.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get

log = get("verify")


@dataclass
class Finding:
    """One verify check's outcome (a row of the --out report)."""

    check: str  # structure | image_sha256 | regenerated
    config: str
    row: str
    ok: bool
    detail: str = ""


def _rows(folder: Path, config: str, columns: list[str], unusable: frozenset[Path] | set[Path] = frozenset()):
    """Rows of the config's shards that structure found readable and of the config's schema (the
    others are already structure findings)."""
    import pyarrow.parquet as pq

    for shard in sorted(folder.glob(layout.config_shards(config))):
        if shard in unusable:
            continue
        pf = pq.ParquetFile(shard)
        for group in range(pf.num_row_groups):
            yield from pf.read_row_group(group, columns=columns).to_pylist()


def check_images(folder: Path, config: str, unusable: frozenset[Path] | set[Path] = frozenset()) -> list[Finding]:
    """Every stored image of a config whose bytes do not hash to its row's sha256."""
    out = []
    for row in _rows(folder, config, ["id", "image", "sha256"], unusable):
        data = (row["image"] or {}).get("bytes")
        if data is None:
            out.append(Finding("image_sha256", config, row["id"], False, "the row holds no image bytes"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            out.append(Finding("image_sha256", config, row["id"], False, f"bytes hash to {digest[:16]}, "
                                                                           f"the row says {row['sha256'][:16]}"))
    return out


def regenerate(folder: Path, config: str, manifest: dict[str, Any], sample: int, seed: int,
               pipelines: dict[tuple, Any] | None = None,
               unusable: frozenset[Path] | set[Path] = frozenset()) -> list[Finding]:
    """Generate `sample` random rows (and their batch mates) again and compare bytes. `pipelines`
    keeps loaded models between configs (a release's configs share one model)."""
    from concurrent.futures import ThreadPoolExecutor

    from dataigm.core.settings import GenerationSettings
    from dataigm.stages.generate import ImageJob, release_settings, submit_rows
    from dataigm.stages.models import load_pipeline, use_scheduler

    columns = ["id", "prompt", "negative_prompt", "seed", "guidance_scale", "height", "width", "num_inference_steps",
               "scheduler", "scheduler_config", "dtype", "batch_size", "batch_id", "batch_position", "model_id",
               "model_revision", "sha256"]
    rows = list(_rows(folder, config, columns, unusable))
    if not rows:
        return []
    picked = random.Random(f"{seed}:{config}").sample(rows, min(sample, len(rows)))
    batches: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        batches.setdefault(row["batch_id"], []).append(row)
    wanted = sorted({r["batch_id"] for r in picked})
    settings = release_settings([r for b in wanted for r in batches[b]], manifest)
    build = (manifest.get("build") or {}).get("settings") or {}
    model = build.get("model") if build.get("model") and Path(build["model"]).exists() else settings["model_id"]
    gen = GenerationSettings(model=model, steps=int(settings["num_inference_steps"]), dtype=settings["dtype"],
                             batch_size=max(len(batches[b]) for b in wanted), cpu_threads=int(settings["cpu_threads"]),
                             revision=None if Path(model).exists() else settings["model_revision"])
    pipelines = {} if pipelines is None else pipelines
    key = (gen.model, gen.revision, gen.dtype, gen.cpu_threads, settings["model_revision"])
    if key not in pipelines:
        pipelines[key] = load_pipeline(gen, pinned=settings["model_revision"])
    loaded = pipelines[key]
    use_scheduler(loaded, settings["scheduler"], settings["scheduler_config"])
    findings = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for batch_id in wanted:
            members = sorted(batches[batch_id], key=lambda r: r["batch_position"])
            jobs = [ImageJob({**m, "image_id": m["id"], "seeds": [m["seed"]]}, 0) for m in members]
            remade = submit_rows(loaded, jobs, gen, pool, batches=[jobs])()
            for member, again in zip(members, remade, strict=True):
                same = again["sha256"] == member["sha256"]
                findings.append(Finding("regenerated", config, member["id"], same,
                                        "" if same else f"regenerated bytes hash to {again['sha256'][:16]}"))
    return findings


def verify(source: str, configs: list[str] | None = None, sample: int = 0, seed: int = 0) -> list[Finding]:
    """Check a release (folder or Hub id): structure, image hashes, and `sample` regenerated rows per image config."""
    from dataigm.hub.loading import local_copy
    from dataigm.hub.structure import read_release, structure_problems

    folder = local_copy(source)
    if Path(source).is_dir():  # a local folder: complete a pack killed mid-commit before checking it
        from dataigm.core.storage import Store
        from dataigm.stages.release import complete_interrupted_pack

        complete_interrupted_pack(Store(str(folder)))
    manifest = read_release(folder)
    unusable: set[Path] = set()
    findings = [Finding("structure", "", "", False, p) for p in structure_problems(folder, manifest, unusable)]
    names = configs or list(manifest["configs"])
    unknown = sorted(set(names) - set(manifest["configs"]))
    if unknown:
        known = ", ".join(manifest["configs"])
        raise DataIGMError(f"--config {', '.join(unknown)}: not in {source} (configs: {known})")
    pipelines: dict[tuple, Any] = {}
    for name in names:
        info = manifest["configs"][name]
        if not isinstance(info, dict) or info.get("kind") != "images":
            continue
        found = check_images(folder, name, unusable)
        findings += found
        log.info("%s: images hashed, %d mismatch(es)", name, len(found))
        if sample:
            findings += regenerate(folder, name, manifest, sample, seed, pipelines, unusable)
    return findings


def as_rows(findings: list[Finding]) -> list[dict[str, Any]]:
    """Findings as report rows."""
    return [asdict(f) for f in findings]
