"""Evaluation verbs: `eval run` and `eval compare`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def _number(value: object) -> str:
    return f"{value:10.4g}" if isinstance(value, (int, float)) and math.isfinite(value) else f"{'–':>10s}"


def _print_summary(summary: dict) -> None:
    from dataigm.core.text import clean_line

    print(f"{summary['method']} on {summary['config'] or 'a bare folder'} ({summary['n_rows']} units):")
    width = max((len(name) for name in summary["metrics"]), default=0)
    for name, m in summary["metrics"].items():
        low, high = m.get("ci_low"), m.get("ci_high")
        ci = (f"  95% CI [{low:.4g}, {high:.4g}]" if isinstance(low, float) and math.isfinite(low)
              else f"  ({m.get('interval_note') or 'no interval'})")
        print(f"  {name:{width}s} {_number(m['value'])}{ci}  n={m['n']}  ({m['direction']} is better)")
    reasons: dict[str, list[str]] = {}
    for name, why in summary["skipped"].items():
        reasons.setdefault(why, []).append(name)
    for why, names in reasons.items():
        print(clean_line(f"  skipped {', '.join(names)}: {why}"))
    for warning in summary.get("warnings", []):  # may name files and subclasses: one printable line each
        print(clean_line(f"  warning: {warning}"))


def _cmd_run(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import in_range, positive, revision_for_hub_ids
    from dataigm.cli.common import engine_options, progress_enabled, release
    from dataigm.core import layout
    from dataigm.core.extras import require
    from dataigm.eval.plan import EvalOptions
    from dataigm.eval.run import evaluate

    require("eval", "dataigm eval run")
    if args.shard:
        from dataigm.core.plan import parse_shard

        parse_shard(args.shard)
    positive(args, "limit", "batch_size", "tasks", "bootstrap")
    in_range(args, "nudenet_threshold", 0, 1)
    revision_for_hub_ids(args, ("model", "revision"), ("base_model", "base_revision"), ("clip", "clip_revision"))
    given = getattr(args, "release", None) or getattr(args, "data_revision", None)
    metrics = {"clip": args.clip, "clip_revision": args.clip_revision, "cmmd_clip": args.cmmd_clip,
               "inception": args.inception, "lpips": args.lpips, "yolo": args.yolo, "fid_resize": args.fid_resize,
               "csdr_legacy": args.csdr_legacy, "bootstrap": args.bootstrap}
    opts = EvalOptions(method=args.method, out=args.out, release=release(args) if given else None, config=args.config,
                       model=args.model, model_type=args.model_type, model_revision=args.revision,
                       base_model=args.base_model, base_revision=args.base_revision, images=args.images,
                       layout=args.layout, reference=args.reference, judges=args.judge or [],
                       category_judge=args.category_judge, clip_dtype=args.clip_dtype,
                       curated_only=args.curated_only, limit=args.limit, allow_unmatched=args.allow_unmatched,
                       batch_size=args.batch_size, device=args.device, metrics=metrics,
                       nudenet_threshold=args.nudenet_threshold)
    # --out checked before any work, then planned, then written holding the run folder (core.folders)
    summary = evaluate(opts, engine_options(args), args.shard, progress=progress_enabled(args), wait=args.wait)
    if args.model and args.model_type == "auto":
        from dataigm.eval.plan import read_plan

        spec = read_plan(args.out)["config"]
        print(f"--model-type auto: {spec['model_type']} ({spec['model_type_reason']})")
    if summary is None:
        print(f"generation ranks submitted or done; finish with the same command without --shard, then see "
              f"{args.out}/{layout.RUN_SUMMARY}")
        return 0
    _print_summary(summary)
    print(f"wrote {args.out}/{layout.RUN_PER_IMAGE}, {layout.RUN_SUMMARY}, {layout.RUN_MANIFEST}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import check_out_file
    from dataigm.core.errors import DataIGMError
    from dataigm.eval.compare import FORMATS, PLOT_FORMATS, load_run, write

    outputs = [check_out_file(out, FORMATS) for out in args.out]
    seen: set[Path] = set()
    for path in outputs:
        if path.resolve() in seen:
            raise DataIGMError(f"--out {path}: given twice; name each file once")
        seen.add(path.resolve())
    if any(p.suffix.lower() in PLOT_FORMATS for p in outputs):
        from dataigm.core.extras import require

        require("report", "a chart (--out FILE.png|.svg|.pdf)")
    runs = [load_run(folder) for folder in args.runs]
    print(write(runs, outputs, args.baseline, args.allow_mismatch))
    print(f"wrote {', '.join(str(p) for p in outputs)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The evaluation verbs' parsers (`eval run`, `eval compare`)."""
    from dataigm.cli.common import DTYPES, add_deprecated, add_engine_args, add_release, add_wait
    from dataigm.core.curation import CurationOptions
    from dataigm.core.defaults import default_model
    from dataigm.eval.checkpoints import MODEL_TYPES
    from dataigm.eval.definitions import PARAMETERS

    e = sub.add_parser("eval", help="evaluate an unlearned model against a release (EvalIGMU)")
    verbs = e.add_subparsers(dest="eval_command", required=True, metavar="VERB")
    r = verbs.add_parser(
        "run", help="score a method on a release config: same rows, same seeds",
        description="Generate the method's image for every row of a release config with the row's own seed and "
        "settings (--model), or take images made elsewhere (--images: <row id>.png, or IGMU's published tree with "
        "--layout igmu), and score them with IGMU's definitions by default (see README's metric table): judges, "
        "FID/LPIPS/CSDR against the original's concept-free twin or the unrelated rows, preservation metrics on "
        "retain/unrelated rows, with 95% confidence intervals. Every row is scored; metrics whose weights are "
        "not on disk are skipped with the flag that takes them.")
    add_release(r, help="release folder or Hub id ORG/NAME[@REVISION] (for --layout igmu: the imported IGMU prompt "
                "pair); none for a bare folder of images", old_flag="--source", revision_flag=True)
    r.add_argument("--config", help="release config to evaluate (e.g. nudity); IGMU layout: default the "
                   "release's one imported IGMU pair, the task from the images folder's name")
    r.add_argument("--method", required=True, help="the method's name, case kept (ESD, AdvUnlearn); with "
                   "--layout igmu also its folder name")
    r.add_argument("--out", required=True, help="run folder to write (new, empty, or this run's own)")
    m = r.add_argument_group("the method's images: --model or --images")
    m.add_argument("--model", help="checkpoint file, folder or Hub id of the unlearned model")
    m.add_argument("--model-type", default="auto", choices=("auto", *MODEL_TYPES),
                   help="auto (default): told from the files and keys, and printed")
    m.add_argument("--revision", help="revision of --model (a Hub id)")
    m.add_argument("--base-model", help="pipeline the checkpoint applies to (default: the release's model)")
    m.add_argument("--base-revision", help="revision of --base-model")
    m.add_argument("--images", help="folder of images generated elsewhere")
    m.add_argument("--layout", choices=("rowid", "igmu"), default="rowid",
                   help="rowid: <row id>.png; igmu: IGMU's tree <Task>/forgot/<METHOD>/i_j_k.png, remove_word/ORG, "
                   "unrelated/<METHOD>/<Class>/ (ORG folders: the original)")
    m.add_argument("--allow-unmatched", action="store_true",
                   help="score the rest when some files match no row (default: stop, naming them)")
    m.add_argument("--reference", help="without a release: the original model's images, same file names")
    m.add_argument("--batch-size", type=int, help="generation batch size (default: the release's)")
    m.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    j = r.add_argument_group("judges and metric weights (local paths; missing ones are skipped)")
    j.add_argument("--judge", action="append", metavar="JUDGE",
                   help="'nudenet', a judge artifact folder or Hub id ORG/NAME[@REVISION] (repeatable; default: the "
                   "release's own concept-presence check, when its model is on this machine)")
    j.add_argument("--nudenet-threshold", type=float, default=CurationOptions.nudenet_threshold,
                   help=f"NudeNet score threshold (default {CurationOptions.nudenet_threshold})")
    j.add_argument("--clip-dtype", choices=DTYPES, default="auto",
                   help="precision of CLIP judges (default auto: bf16 where the hardware computes it natively, else "
                   "fp32); CLIP score, CSDR and CMMD always embed in fp32")
    j.add_argument("--clip", help=f"CLIP for CLIP score and CSDR (default {default_model('clip-score')})")
    j.add_argument("--clip-revision", help="the --clip model's revision")
    j.add_argument("--cmmd-clip", help=f"CLIP for CMMD (default {default_model('cmmd')})")
    j.add_argument("--inception", help="torch-fidelity Inception-v3 weights file for FID/KID")
    j.add_argument("--fid-resize", choices=("clean", "tf1"), default="clean",
                   help="clean: PIL bicubic to 299 (clean-fid, pyiqa, IGMU's numbers); tf1: torch-fidelity's")
    j.add_argument("--lpips", help="torchvision AlexNet weights file (alexnet-owt-7be5be79.pth) for LPIPS")
    j.add_argument("--yolo", help=f"YOLO detector weights for person_rate (conf {PARAMETERS['yolo_conf']}, "
                   f"IoU {PARAMETERS['yolo_iou']})")
    j.add_argument("--category-judge", metavar="JUDGE",
                   help="category judge (artifact folder or Hub id) for retain_accuracy on unrelated rows")
    j.add_argument("--csdr-legacy", action="store_true",
                   help="CSDR against IGMU's exact text (its fixed word list, one prompt copy per word, joined "
                   "with ''): comparison with its numbers only")
    j.add_argument("--bootstrap", type=int, default=PARAMETERS["bootstrap"],
                   help=f"bootstrap resamples for the per-image CIs (default {PARAMETERS['bootstrap']})")
    s = r.add_argument_group("rows")
    s.add_argument("--curated-only", action="store_true", help="only rows curation kept (status ok); default: "
                   "every row, as IGMU scores them")
    add_deprecated(s, "--all-rows", "no flag: every row is scored by default now (--curated-only keeps rows with "
                   "status ok)", dest="all_rows", nargs=0)
    s.add_argument("--limit", type=int, help="a deterministic sample of N units")
    r.add_argument("--no-progress", action="store_true")
    add_wait(r)
    add_engine_args(r)
    r.set_defaults(func=_cmd_run)

    c = verbs.add_parser("compare", help="method x metric table of several runs (md, csv or tex) and its charts",
                         description="The method x metric table of evaluation runs, printed and written to every "
                         "--out: FILE.md, .csv or .tex (the table), FILE.png, .svg or .pdf (bar charts with CIs). "
                         "Give --out once per file.")
    c.add_argument("runs", nargs="+", metavar="RUN_DIR")
    c.add_argument("--out", required=True, action="append", metavar="FILE",
                   help="file to write: FILE.md, .csv or .tex (the table) or FILE.png, .svg or .pdf (its bar charts "
                   "with CIs); repeatable, e.g. --out table.md --out table.png")
    c.add_argument("--baseline", help="a method name: add McNemar's paired test of every run against it")
    add_deprecated(c, "--plot", "--out FILE.png|.svg|.pdf", dest="out", append=True)
    c.add_argument("--allow-mismatch", action="store_true",
                   help="compare runs over other configs, rows, judges or thresholds (marked in the table)")
    c.set_defaults(func=_cmd_compare)
