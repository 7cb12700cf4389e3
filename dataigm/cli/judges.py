"""Judge verbs: `train-judge` and `judge`."""

from __future__ import annotations

import argparse
from pathlib import Path

from dataigm.core.errors import DataIGMError


def _cmd_train_judge(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import check_out_folder, positive, revision_for_hub_ids
    from dataigm.cli.common import progress_enabled, release
    from dataigm.core.extras import require
    from dataigm.core.registry import builder_for
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.judging import add_real_images, collect, judge_target, train

    require("judges", "dataigm train-judge")
    positive(args, "epochs", "imgsz")
    revision_for_hub_ids(args, ("backbone", "backbone_revision"))
    _, _, nsfw, _ = judge_target(args.target)
    out = Path(args.out or f"judges/{args.target}-{args.kind}")
    check_out_folder(str(out), "judge")
    data = collect(args.target, release(args), progress=progress_enabled(args))
    if args.kind == "clip":  # before the folder is claimed
        from dataigm.core.hub_access import require_model

        require_model(args.backbone, args.backbone_revision, "--backbone")
    if args.extra_images:
        n = add_real_images(data, Path(args.extra_images), args.extra_license, nsfw)
        print(f"added {n} real images from {args.extra_images} (license: {args.extra_license})")
    if args.kind == "clip":
        taxonomy = load_taxonomy()
        compare = ()
        if args.target in taxonomy.concepts and not args.no_compare:
            concept = taxonomy.concept(args.target)
            compare = builder_for(concept).reference_judges(concept)
        options = {"backbone": args.backbone, "revision": args.backbone_revision, "epochs": args.epochs or 300,
                   "seed": args.seed, "dtype": args.dtype, "compare_with": compare}
    else:
        options = {"arch": args.yolo_model, "imgsz": args.imgsz, "epochs": args.epochs or 1, "seed": args.seed}
    from dataigm.core.folders import writing_folder

    with writing_folder(str(out), "judge", "dataigm train-judge", wait=args.wait):
        config = train(data, args.kind, out, nsfw, **options)
    print(_training_summary(out, config))
    return 0


SUMMARY_METRICS = ("n", "accuracy", "precision", "recall", "f1", "auroc", "ece", "f1_macro", "auroc_ovr")


def _training_summary(out: Path, config: dict) -> str:
    """A few lines: the headline test metrics (and each reference detector's); the confusion
    matrices and breakdowns stay in config.json and the report."""
    def line(name: str, metrics: dict) -> str:
        values = [f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k in SUMMARY_METRICS
                  if (v := metrics.get(k)) is not None]
        return f"  {name}: {', '.join(values)}"

    test = config["metrics"]["test"]
    lines = [f"trained {config['kind']} judge for {config['target']} -> {out} (threshold {config['threshold']:.3g})"]
    lines += [line(f"test {part}", test[part]) for part in ("presence", "classes") if part in test]
    for name, metrics in (config["metrics"].get("comparison") or {}).items():
        if name != "trained":
            lines.append(line(f"{name} on the same test images", metrics))
    lines.append(f"all metrics (confusion matrix, by subclass, by source): {out}/config.json; "
                 f"plots: dataigm report {out} --out report.html")
    return "\n".join(lines)


def _cmd_judge(args: argparse.Namespace) -> int:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from dataigm.cli.checks import check_out_file, in_range
    from dataigm.cli.common import progress_enabled, release
    from dataigm.core.extras import require
    from dataigm.core.registry import resolve_judge
    from dataigm.core.storage import atomic_output
    from dataigm.judging import folder_images, judge_stream, release_images

    require("judges", "dataigm judge")
    in_range(args, "nudenet_threshold", 0, 1)
    out = check_out_file(args.out, (".csv", ".parquet"))
    labels = args.nudenet_labels.split(",") if args.nudenet_labels else None
    judge = resolve_judge(args.judge, nudenet_threshold=args.nudenet_threshold, nudenet_labels=labels,
                          dtype=args.dtype).load()
    items = (release_images(args.config, release(args), None, args.split) if args.config
             else folder_images(Path(args.release)))
    writer = None
    total = flagged = 0
    with atomic_output(out) as tmp:
        try:
            with tqdm(desc=f"judge ({judge.name})", unit="img", disable=not progress_enabled(args), delay=2) as bar:
                for rows in judge_stream(judge, items):
                    table = pa.Table.from_pylist(rows)
                    if writer is None:
                        writer = (pacsv.CSVWriter(str(tmp), table.schema) if out.suffix.lower() == ".csv"
                                  else pq.ParquetWriter(str(tmp), table.schema))
                    writer.write_table(table)
                    total += len(rows)
                    flagged += sum(r["decision"] for r in rows)
                    bar.update(len(rows))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise DataIGMError(f"{args.release}: no images to judge")
    print(f"{total} images judged by {judge.name} (threshold {judge.threshold}): {flagged} flagged -> {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The judge verbs' parsers."""
    from dataigm.cli.common import DTYPES, RELEASE_HELP, add_deprecated, add_release, add_wait
    from dataigm.core.curation import CurationOptions
    from dataigm.core.defaults import default_model

    t = sub.add_parser("train-judge", help="train and evaluate a judge on a DataIGM release",
                       description="Train a judge for a concept (binary) or a category (multi-class) on the "
                       "train split of RELEASE, pick its threshold on a validation part of train, report on test.")
    t.add_argument("target", metavar="TARGET", help="concept (binary judge) or category (multi-class judge)")
    add_release(t, help=f"the training data: {RELEASE_HELP}", old_flag="--data", revision_flag=True)
    t.add_argument("--out", help="artifact folder to write (default judges/<target>-<kind>)")
    t.add_argument("--kind", choices=("clip", "yolo"), default="clip")
    t.add_argument("--backbone", default=default_model("judge-backbone"), help="CLIP id or local folder "
                   f"(default {default_model('judge-backbone')})")
    t.add_argument("--backbone-revision", help="the --backbone's revision (pinned to a commit or content digest)")
    t.add_argument("--dtype", choices=DTYPES, default="auto",
                   help="clip: the backbone's precision (default auto: bf16 where the hardware computes it natively, "
                   "else fp32; recorded in the judge's config)")
    t.add_argument("--yolo-model", default="yolov8n-cls.yaml",
                   help="yolo: an architecture shipped with ultralytics, by name")
    t.add_argument("--imgsz", type=int, default=64, help="yolo: image size")
    t.add_argument("--epochs", type=int, help="clip head: 300 full-batch steps; yolo: 1 epoch")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--extra-images", help="ImageFolder of real images (one subfolder per label); not for nsfw")
    t.add_argument("--extra-license", default="unknown", help="license of the extra images")
    t.add_argument("--no-compare", action="store_true", help="skip the comparison with reference detectors")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_wait(t)
    t.set_defaults(func=_cmd_train_judge)

    j = sub.add_parser("judge", help="run a judge over images; one row per image to CSV or parquet",
                       description="IMAGES|RELEASE: a folder of images, or with --config a RELEASE (folder or Hub id "
                       "ORG/NAME[@REVISION]). Images are read, decoded and judged in batches.")
    j.add_argument("release", metavar="IMAGES|RELEASE", help="a folder of images, or a RELEASE with --config")
    add_deprecated(j, "--data-revision", "RELEASE@REVISION", dest="data_revision")
    j.add_argument("--judge", required=True,
                   help="'nudenet', a judge artifact folder, or a Hub id ORG/NAME[@REVISION] of one")
    j.add_argument("--out", required=True, help="FILE.csv or FILE.parquet to write")
    j.add_argument("--config", help="release config to judge (IMAGES|RELEASE is then a release)")
    j.add_argument("--split", help="only this split of --config")
    j.add_argument("--nudenet-threshold", type=float, default=CurationOptions.nudenet_threshold,
                   help=f"nudenet: score threshold (default {CurationOptions.nudenet_threshold}, as in curation)")
    j.add_argument("--nudenet-labels", help="nudenet: comma-separated labels counted as nudity")
    j.add_argument("--dtype", choices=DTYPES, default="auto",
                   help="CLIP judges: tower precision (default auto: bf16 where the hardware computes it natively)")
    j.add_argument("--no-progress", action="store_true", help="no progress bars")
    j.set_defaults(func=_cmd_judge)
