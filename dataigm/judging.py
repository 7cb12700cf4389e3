"""Judges against releases: collect a release's curated rows as judge data, train a judge of any
registered kind on them, compare a nudity judge with NudeNet, and run a judge over many images
(streamed in batches: memory does not grow with the number of images)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from dataigm.core.errors import DataIGMError
from dataigm.core.ids import bucket
from dataigm.core.images import decode, image_files, read_image
from dataigm.core.registry import DETECTORS
from dataigm.core.taxonomy import load_taxonomy

VALIDATION_PERCENT = 15
JUDGE_KINDS = {"clip": "clip-head", "yolo": "yolo-cls"}


def judge_target(target: str) -> tuple[list[str], list[str], bool, list[dict[str, str]]]:
    """(labels, configs, nsfw, label ids) of a concept (binary judge) or a category (multi-class
    judge: the category's no-concept class, then one label per concept)."""
    taxonomy = load_taxonomy()
    if target in taxonomy.categories:
        cat = taxonomy.categories[target]
        concepts = list(cat.concepts.values())
        return ([cat.none_label, *[c.name for c in concepts]], [c.name for c in concepts], cat.nsfw,
                [dict(cat.none_ids), *[c.id_map for c in concepts]])
    concept = taxonomy.concept(target)
    return list(concept.label_names), [concept.name], concept.nsfw, [{}, concept.id_map]


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """datasets' own bars (two per config) off while reading many configs under one bar of ours."""
    import datasets

    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def collect(target: str, source: str, revision: str | None = None, progress: bool = True):
    """Curated (status ok) rows of the target's configs; validation carved from train by pair."""
    from tqdm.auto import tqdm

    from dataigm.core.judge_data import JudgeData
    from dataigm.hub.loading import load, release_manifest, split_source

    labels, configs, _, label_ids = judge_target(target)
    source, at = split_source(source)
    if len(configs) > 1:  # a category judge: every label stays, trained on the configs the release has
        manifest = release_manifest(source, revision or at) or {"configs": {}}
        configs = [c for c in configs if c in manifest["configs"]]
        if not configs:
            raise DataIGMError(f"{source} has no image config of the category {target!r}")
    data = JudgeData(labels, target, configs, source, revision or at, label_ids)
    for config in tqdm(configs, desc=f"read {target} data", unit="config", disable=not progress or len(configs) < 2):
        with quiet_datasets():
            ds = load(config, source, data.revision)
        for split, rows in ds.items():
            for row in rows:
                if row.get("status", "ok") != "ok":
                    continue
                part = "test" if split == "test" else (
                    "val" if bucket(row["pair_id"]) < VALIDATION_PERCENT else "train")
                y = row["label"] if len(labels) == 2 else (labels.index(config) if row["label"] == 1 else 0)
                data.add(row["image"].convert("RGB"), row["sha256"], int(y), part, row["subclass"], "synthetic",
                         "dataigm (synthetic)", row["id"])
    if not data.y:
        raise DataIGMError(f"no curated rows for {target!r} in {source}")
    return data


def _part_of(key: str) -> str:
    return {0: "test", 1: "val"}.get(bucket(key) % 5, "train")


def add_real_images(data, source: str | Path, license_: str, nsfw: bool) -> int:
    """Real images as an extra training source: a local ImageFolder (one subfolder per label name)
    or a Hugging Face image dataset (Hub id[@revision] or a local dataset folder) with `image` and a
    ClassLabel `label` whose names are the judge's labels. Never for nsfw judges."""
    if nsfw:
        raise DataIGMError("real images are never used for nsfw judges: the nsfw concepts stay synthetic")
    folder = Path(source)
    classes = [d for d in sorted(folder.iterdir()) if d.is_dir() and d.name in data.labels] if folder.is_dir() else []
    if not classes:
        return _add_hf_images(data, str(source), license_)
    added = 0
    for class_dir in classes:
        for path in image_files(class_dir):
            image, sha = read_image(path)
            data.add(image, sha, data.labels.index(class_dir.name), _part_of(path.name), class_dir.name,
                     f"real:{folder.name}", license_, str(path))
            added += 1
    return added


def _add_hf_images(data, spec: str, license_: str) -> int:
    import hashlib
    import io

    from datasets import ClassLabel, concatenate_datasets, load_dataset

    from dataigm.hub.loading import split_source

    name, revision = split_source(spec)
    try:
        ds = load_dataset(name, revision=revision)
    except (FileNotFoundError, ValueError) as exc:
        raise DataIGMError(f"--extra-images {spec}: neither an ImageFolder with label subfolders "
                           f"({data.labels}) nor a loadable image dataset ({exc})") from None
    ds = concatenate_datasets(list(ds.values()))
    label = ds.features.get("label")
    if "image" not in ds.features or not isinstance(label, ClassLabel):
        raise DataIGMError(f"--extra-images {spec}: needs an 'image' column and a ClassLabel 'label' column")
    unknown = sorted(set(label.names) - set(data.labels))
    if unknown:
        raise DataIGMError(f"--extra-images {spec}: labels {unknown} are not labels of this judge ({data.labels})")
    for i, row in enumerate(ds):
        buf = io.BytesIO()
        image = row["image"].convert("RGB")
        image.save(buf, format="PNG")
        text = label.int2str(row["label"])
        data.add(image, hashlib.sha256(buf.getvalue()).hexdigest(), data.labels.index(text), _part_of(f"{spec}:{i}"),
                 text, f"real:{Path(name).name}", license_, f"{spec}:{i}")
    return len(ds)


def train(data, kind: str, out: Path, nsfw: bool, **options: Any) -> dict[str, Any]:
    """Train a judge of `kind` (clip | yolo) on `data`, save it to `out` with its model card."""
    from dataigm.core.folders import writing_folder

    with writing_folder(str(out), "judge", "dataigm train-judge"):
        return _train(data, kind, out, nsfw, **options)


def _train(data, kind: str, out: Path, nsfw: bool, **options: Any) -> dict[str, Any]:
    """The work of `train`, with the folder held."""
    from cards.render import write_judge_card

    if kind not in JUDGE_KINDS:
        raise DataIGMError(f"--kind {kind!r}: use one of {', '.join(JUDGE_KINDS)}")
    config = DETECTORS.get(JUDGE_KINDS[kind]).train(data, out, nsfw=nsfw, **options)
    write_judge_card(out, config)
    return config


def folder_images(folder: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every image file below `folder`, read lazily."""
    for path in image_files(folder):
        try:
            yield str(path), path.read_bytes()
        except OSError as exc:
            raise DataIGMError(f"{path}: cannot read ({exc.strerror})") from None


def release_images(config: str, source: str, revision: str | None, split: str | None) -> Iterator[tuple[str, bytes]]:
    """(row id, image bytes) of a release config, read one parquet row group at a time."""
    from dataigm.core.storage import row_groups
    from dataigm.hub.loading import config_files

    for path in config_files(config, source, revision, split):
        for table in row_groups(path, ["id", "image"]):
            for row_id, image in zip(table.column("id").to_pylist(), table.column("image").to_pylist(), strict=True):
                yield row_id, image["bytes"]


def judge_stream(judge, items: Iterator[tuple[str, bytes]], batch_size: int = 32) -> Iterator[list[dict[str, Any]]]:
    """Verdict rows per batch: images are decoded (with the pixel cap) and judged batch by batch."""
    pending: list[tuple[str, bytes]] = []

    def flush() -> list[dict[str, Any]]:
        arrays = [np.asarray(decode(data, name)) for name, data in pending]
        rows = [{"file": name, "judge": v.name, "judge_version": v.version, "score": v.score,
                 "threshold": v.threshold, "decision": v.decision, "code": v.code, "message": v.message,
                 "details": v.details}
                for (name, _), v in zip(pending, judge.judge(arrays), strict=True)]
        pending.clear()
        return rows

    for item in items:
        pending.append(item)
        if len(pending) >= batch_size:
            yield flush()
    if pending:
        yield flush()
