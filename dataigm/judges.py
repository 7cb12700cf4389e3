"""Training, evaluating and running judges on DataIGM releases."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dataigm.errors import DataIGMError
from dataigm.taxonomy import load_taxonomy

VALIDATION_PERCENT = 15
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def _bucket(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 100


@dataclass
class JudgeData:
    """Images with labels, each in a part (train / val / test), with subclass and source."""

    labels: list[str]
    target: str
    configs: list[str]
    source: str
    revision: str | None
    images: list[Image.Image] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    part: list[str] = field(default_factory=list)
    subclass: list[str] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)

    def add(self, image: Image.Image, sha: str, y: int, part: str, subclass: str, origin: str, lic: str) -> None:
        for name, value in (("images", image), ("sha256", sha), ("y", y), ("part", part),
                            ("subclass", subclass), ("origin", origin), ("license", lic)):
            getattr(self, name).append(value)

    def mask(self, part: str) -> np.ndarray:
        return np.asarray(self.part) == part


def judge_target(target: str) -> tuple[list[str], list[str], bool]:
    """(labels, configs, nsfw) of a concept (binary judge) or a category (multi-class judge)."""
    taxonomy = load_taxonomy()
    if target in taxonomy.categories:
        concepts = list(taxonomy.categories[target].values())
        return ["none", *[c.name for c in concepts]], [c.name for c in concepts], concepts[0].nsfw
    concept = taxonomy.concept(target)
    return list(concept.label_names), [concept.name], concept.nsfw


def collect(target: str, source: str, revision: str | None = None) -> JudgeData:
    """Curated (status ok) rows of the target's configs; validation carved from train by pair."""
    from dataigm.loading import load, split_source

    labels, configs, _ = judge_target(target)
    source, at = split_source(source)
    data = JudgeData(labels, target, configs, source, revision or at)
    for config in configs:
        ds = load(config, source, data.revision)
        for split, rows in ds.items():
            for row in rows:
                if row.get("status", "ok") != "ok":
                    continue
                part = "test" if split == "test" else ("val" if _bucket(row["pair_id"]) < VALIDATION_PERCENT
                                                       else "train")
                y = row["label"] if len(configs) == 1 else (labels.index(config) if row["label"] == 1 else 0)
                data.add(row["image"], row["sha256"], int(y), part, row["subclass"], "synthetic",
                         "dataigm (synthetic)")
    if not data.y:
        raise DataIGMError(f"no curated rows for {target!r} in {source}")
    return data


def _part_of(key: str) -> str:
    return {0: "test", 1: "val"}.get(_bucket(key) % 5, "train")


def add_real_images(data: JudgeData, source: str | Path, license_: str, nsfw: bool) -> int:
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
        if class_dir.name not in data.labels:
            raise DataIGMError(f"{class_dir}: {class_dir.name!r} is not a label of this judge ({data.labels})")
        for path in image_files(class_dir):
            image, sha = read_image(path)
            data.add(image, sha, data.labels.index(class_dir.name), _part_of(path.name), class_dir.name,
                     f"real:{folder.name}", license_)
            added += 1
    return added


def _add_hf_images(data: JudgeData, spec: str, license_: str) -> int:
    from datasets import ClassLabel, concatenate_datasets, load_dataset

    from dataigm.loading import split_source

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
        row["image"].convert("RGB").save(buf, format="PNG")
        sha = hashlib.sha256(buf.getvalue()).hexdigest()
        text = label.int2str(row["label"])
        data.add(row["image"].convert("RGB"), sha, data.labels.index(text), _part_of(f"{spec}:{i}"), text,
                 f"real:{Path(name).name}", license_)
    return len(ds)


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataIGMError(f"{folder}: not a folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataIGMError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_image(path: Path) -> tuple[Image.Image, str]:
    data = path.read_bytes()
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataIGMError(f"{path}: not a readable image ({exc})") from None
    return image.convert("RGB"), hashlib.sha256(data).hexdigest()


class FeatureCache:
    """CLIP features by image sha256, per backbone and revision, in safetensors files."""

    def __init__(self, backbone: str, revision: str | None):
        key = hashlib.sha256(f"{os.path.abspath(backbone) if Path(backbone).exists() else backbone}@{revision}"
                             .encode()).hexdigest()[:16]
        root = Path(os.environ.get("DATAIGM_CACHE", Path.home() / ".cache" / "dataigm"))
        self.path = root / "features" / f"{key}.safetensors"

    def features(self, encoder, images: list[Image.Image], shas: list[str]) -> tuple[np.ndarray, int]:
        """Features for every image (computing only the missing ones); returns (features, computed)."""
        from safetensors.numpy import load_file, save_file

        cached: dict[str, np.ndarray] = load_file(self.path) if self.path.exists() else {}
        missing = [i for i, s in enumerate(shas) if s not in cached]
        unique = {shas[i]: i for i in missing}
        if unique:
            new = encoder.embed([images[i] for i in unique.values()])
            cached.update(dict(zip(unique, new, strict=True)))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            save_file({k: np.ascontiguousarray(v) for k, v in cached.items()}, tmp)
            tmp.replace(self.path)
        return np.stack([cached[s] for s in shas]).astype(np.float32), len(unique)


def evaluate(data: JudgeData, part: str, score: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, Any]:
    from dataigm.metrics import binary_report, breakdown, multiclass_report

    m = data.mask(part)
    y = np.asarray(data.y)[m]
    present = (y > 0).astype(int)
    report: dict[str, Any] = {"presence": binary_report(present, score[m], threshold)}
    pred_present = (score[m] >= threshold).astype(int)
    if probs.ndim == 2:
        report["classes"] = multiclass_report(y, probs[m], data.labels)
        pred = probs[m].argmax(axis=1)
    else:
        pred = pred_present
    subclasses = list(np.asarray(data.subclass)[m])
    origins = list(np.asarray(data.origin)[m])
    report["by_subclass"] = breakdown(subclasses, y, pred)
    report["by_source"] = breakdown(origins, y, pred)
    return report


def train_clip_judge(data: JudgeData, out: Path, backbone: str, revision: str | None, epochs: int,
                     seed: int, nsfw: bool) -> dict[str, Any]:
    from dataigm.metrics import best_threshold
    from detectors.artifact import ARTIFACT_FORMAT
    from detectors.clip_head import ClipEncoder, ClipHeadJudge, head_probs, presence_score, train_head

    started = time.time()
    encoder = ClipEncoder(backbone, revision)
    x, computed = FeatureCache(backbone, revision).features(encoder, data.images, data.sha256)
    feature_s = time.time() - started
    y = np.asarray(data.y)
    train = data.mask("train")
    if len(np.unique(y[train])) < 2:
        raise DataIGMError(f"the train split of {data.target} has a single class; nothing to learn")
    head = train_head(x[train], y[train], len(data.labels), epochs=epochs, seed=seed)
    probs = head_probs(head, x)
    score = presence_score(probs, data.labels)
    val = data.mask("val")
    threshold = best_threshold((y[val] > 0).astype(int), score[val]) if val.any() else 0.5
    metrics = {"test": evaluate(data, "test", score, probs, threshold),
               "validation": evaluate(data, "val", score, probs, threshold) if val.any() else None,
               "counts": {p: int(data.mask(p).sum()) for p in ("train", "val", "test")},
               "feature_seconds": round(feature_s, 2), "features_computed": computed,
               "train_seconds": round(time.time() - started - feature_s, 2)}
    config = {
        "kind": "clip_head", "format_version": ARTIFACT_FORMAT, "version": "1",
        "task": "binary" if len(data.labels) == 2 else "multiclass", "target": data.target,
        "labels": data.labels, "threshold": threshold, "nsfw": nsfw,
        "backbone": {"id": backbone, "revision_requested": revision,
                     "revision": revision or _resolved_revision(backbone)},
        "preprocessing": encoder.preprocessing(),
        "head": {"input_dim": int(x.shape[1]), "n_out": 1 if len(data.labels) == 2 else len(data.labels),
                 "hidden": 256, "dropout": 0.1, "epochs": epochs, "seed": seed},
        "training_data": {"source": data.source, "revision": data.revision, "configs": data.configs,
                          "sources": sorted(set(data.origin)), "licenses": sorted(set(data.license))},
        "metrics": metrics, "created_with": {lib: version(lib) for lib in ("dataigm", "torch", "transformers")},
    }
    judge = ClipHeadJudge(encoder, head, config)
    judge.save(out)
    write_judge_card(out, config)
    return config


def _resolved_revision(model: str) -> str:
    if Path(model).is_dir():
        from dataigm.models import folder_fingerprint

        return f"local:{folder_fingerprint(Path(model))}"
    return "main"


def compare_nudenet(data: JudgeData, config: dict[str, Any], threshold: float | None = None) -> dict[str, Any]:
    """NudeNet on the same test split as a trained nudity judge."""
    from dataigm.metrics import binary_report
    from detectors.nudenet_judge import DEFAULT_THRESHOLD, NudeNetJudge

    judge = NudeNetJudge(threshold=threshold or DEFAULT_THRESHOLD)
    m = data.mask("test")
    images = [np.asarray(im.convert("RGB")) for im, keep in zip(data.images, m, strict=True) if keep]
    verdicts = judge.judge(images)
    y = (np.asarray(data.y)[m] > 0).astype(int)
    return {"nudenet": {"version": judge.version, "labels": list(judge.labels), "threshold": judge.threshold,
                        **binary_report(y, np.array([v.score for v in verdicts]), judge.threshold)},
            "clip_head": config["metrics"]["test"]["presence"]}


def write_judge_card(out: Path, config: dict[str, Any]) -> None:
    from huggingface_hub import ModelCard, ModelCardData

    from dataigm.card import CARDS_DIR

    data = ModelCardData(license="mit", library_name="dataigm", tags=["dataigm", "machine-unlearning", "judge",
                                                                       *(["not-for-all-audiences"]
                                                                         if config.get("nsfw") else [])],
                         base_model=config.get("backbone", {}).get("id") if not Path(
                             str(config.get("backbone", {}).get("id"))).exists() else None)
    card = ModelCard.from_template(data, template_path=str(CARDS_DIR / "judge_card.md"), config=config,
                                   metrics_json=json.dumps(config["metrics"], indent=2, default=str))
    (out / "README.md").write_text(str(card))
