"""`dataigm train-judge` and `dataigm judge`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dataigm.errors import DataIGMError


def _cmd_train_judge(args: argparse.Namespace) -> int:
    from dataigm.judges import add_real_images, collect, compare_nudenet, judge_target, train_clip_judge

    _, _, nsfw = judge_target(args.target)
    data = collect(args.target, args.data, args.revision)
    if args.extra_images:
        n = add_real_images(data, Path(args.extra_images), args.extra_license, nsfw)
        print(f"added {n} real images from {args.extra_images} (license: {args.extra_license})")
    out = Path(args.out or f"judges/{args.target}-{args.kind}")
    if args.kind == "clip":
        config = train_clip_judge(data, out, args.backbone, args.backbone_revision, args.epochs or 300, args.seed,
                                  nsfw)
    else:
        from detectors.yolo_cls import train_yolo_judge

        config = train_yolo_judge(data, out, args.yolo_model, args.imgsz, args.epochs or 1, args.seed, nsfw)
    report = {"judge": str(out), "threshold": config["threshold"], "test": config["metrics"]["test"]}
    if args.target == "nudity" and not args.no_compare:
        report["comparison"] = compare_nudenet(data, config, args.nudenet_threshold)
        config["metrics"]["comparison"] = report["comparison"]
        (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    print(json.dumps(report, indent=2, default=str))
    return 0


def load_judge(spec: str, nudenet_threshold: float | None, nudenet_labels: str | None):
    if spec == "nudenet":
        from detectors.nudenet_judge import DEFAULT_THRESHOLD, NUDITY_LABELS, NudeNetJudge

        labels = tuple(nudenet_labels.split(",")) if nudenet_labels else NUDITY_LABELS
        return NudeNetJudge(threshold=nudenet_threshold or DEFAULT_THRESHOLD, labels=labels)
    folder = Path(spec)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise DataIGMError(f"--judge {spec!r}: not 'nudenet' and not a judge artifact folder (no config.json)")
    kind = json.loads(config_path.read_text()).get("kind")
    if kind == "clip_head":
        from detectors.clip_head import ClipHeadJudge

        return ClipHeadJudge.load(folder)
    if kind == "yolo_cls":
        from detectors.yolo_cls import YoloClsJudge

        return YoloClsJudge.load(folder)
    raise DataIGMError(f"{folder}: unknown judge kind {kind!r}")


def _images(args: argparse.Namespace) -> tuple[list[str], list]:
    """(names, RGB arrays) from a folder of images, or a release config (--config)."""
    import numpy as np

    from dataigm.judges import image_files, read_image

    if args.config:
        from dataigm.loading import load

        ds = load(args.config, args.images, args.revision, split=args.split)
        rows = ds if args.split else [r for split in ds.values() for r in split]
        return [r["id"] for r in rows], [np.asarray(r["image"].convert("RGB")) for r in rows]
    files = image_files(Path(args.images))
    return [str(p) for p in files], [np.asarray(read_image(p)[0]) for p in files]


def _cmd_judge(args: argparse.Namespace) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    out = Path(args.out)
    if out.suffix not in (".csv", ".parquet"):
        raise DataIGMError(f"--out {out}: use a .csv or .parquet file name")
    judge = load_judge(args.judge, args.nudenet_threshold, args.nudenet_labels)
    names, images = _images(args)
    verdicts = []
    for i in tqdm(range(0, len(images), 32), desc=f"judge ({judge.name})", unit="batch"):
        verdicts.extend(judge.judge(images[i : i + 32]))
    table = pa.table({"file": names, "score": [v.score for v in verdicts],
                      "decision": [v.decision for v in verdicts], "judge": [v.name for v in verdicts],
                      "judge_version": [v.version for v in verdicts],
                      "threshold": [v.threshold for v in verdicts], "details": [v.details for v in verdicts]})
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        pacsv.write_csv(table, out)
    else:
        pq.write_table(table, out)
    print(f"{len(names)} images judged by {judge.name} (threshold {judge.threshold}): "
          f"{sum(v.decision for v in verdicts)} flagged -> {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train-judge", help="train and evaluate a judge on a DataIGM release",
                       description="Train a judge for a concept (binary) or a category (multi-class) on the "
                       "train split, pick its threshold on a validation part of train, report on test.")
    t.add_argument("target", help="concept (binary judge) or category (multi-class judge)")
    t.add_argument("--data", required=True, help="release folder or Hub id, optionally ID@REVISION")
    t.add_argument("--revision", help="data revision (tag), e.g. v1.0.0")
    t.add_argument("--kind", choices=("clip", "yolo"), default="clip")
    t.add_argument("--backbone", default="openai/clip-vit-base-patch32", help="CLIP id or local folder")
    t.add_argument("--backbone-revision")
    t.add_argument("--yolo-model", default="yolov8n-cls.yaml", help="yolo: architecture yaml or weights path")
    t.add_argument("--imgsz", type=int, default=64, help="yolo: image size")
    t.add_argument("--epochs", type=int, help="clip head: 300 full-batch steps; yolo: 1 epoch")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="artifact folder (default judges/<target>-<kind>)")
    t.add_argument("--extra-images", help="ImageFolder of real images (one subfolder per label); not for nsfw")
    t.add_argument("--extra-license", default="unknown", help="license of the extra images")
    t.add_argument("--nudenet-threshold", type=float, help="threshold of the NudeNet comparison (nudity)")
    t.add_argument("--no-compare", action="store_true", help="skip the NudeNet comparison for nudity")
    t.set_defaults(func=_cmd_train_judge, epochs=None)

    j = sub.add_parser("judge", help="run a judge over images; one row per image to CSV or parquet",
                       description="IMAGES: a folder of images, or a release folder / Hub id with --config.")
    j.add_argument("images", metavar="IMAGES")
    j.add_argument("--judge", required=True, help="a judge artifact folder, or 'nudenet'")
    j.add_argument("--out", required=True, help="FILE.csv or FILE.parquet")
    j.add_argument("--config", help="release config to judge (IMAGES is then a release folder or Hub id)")
    j.add_argument("--split", help="only this split of --config")
    j.add_argument("--revision", help="release revision (tag)")
    j.add_argument("--nudenet-threshold", type=float, help="nudenet: score threshold (default 0.45)")
    j.add_argument("--nudenet-labels", help="nudenet: comma-separated labels counted as nudity")
    j.set_defaults(func=_cmd_judge)
