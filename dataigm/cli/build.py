"""Build verbs: `build`, `pack`, `status` and `curate` (re-curation without generation)."""

from __future__ import annotations

import argparse

from dataigm.cli import progress_enabled
from dataigm.core.layout import LOGS


def _settings_overrides(args: argparse.Namespace) -> dict:
    return {"model": args.model, "revision": args.revision, "scheduler": args.scheduler,
            "steps": args.steps, "guidance": args.guidance, "height": args.height,
            "width": args.width, "negative_prompt": args.negative_prompt, "dtype": args.dtype,
            "device": args.device, "safety_checker": args.safety_checker,
            "compile": True if args.compile else None, "base_seed": args.seed,
            "batch_size": args.batch_size}


def _engine_options(args: argparse.Namespace):
    from dataigm.engines import EngineOptions

    return EngineOptions(
        engine=args.engine, tasks=args.tasks, workers=args.workers,
        gpus=args.gpus.split(",") if args.gpus else None, partition=args.partition, time=args.time,
        gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task, mem_per_cpu_gb=args.mem_per_cpu_gb,
        env_command=args.env_command, venv_path=args.venv, logging_dir=args.logging_dir)


def _curation_options(args: argparse.Namespace):
    from dataigm.core.curation import CurationOptions
    from dataigm.stages.curate import judge_targets

    return CurationOptions(judges=tuple(judge_targets(args.curate_judge or [])), clip=args.clip,
                           clip_revision=args.clip_revision, clip_threshold=args.clip_threshold,
                           nudenet_threshold=args.nudenet_threshold, person_check=args.person_check)


def build_verb(args: argparse.Namespace) -> int:
    from dataigm.build import build
    from dataigm.cli.checks import check_out_folder, in_range, positive
    from dataigm.core.plan import parse_shard, preset_config
    from dataigm.core.storage import Store
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.imports import imported_concept

    if args.shard:
        parse_shard(args.shard)
    positive(args, "count", "image_limit", "shard_size", "images_per_prompt", "batch_size", "tasks", "steps")
    in_range(args, "clip_threshold", 0, 1)
    in_range(args, "nudenet_threshold", 0, 1)
    check_out_folder(args.out)
    store = Store(args.out)  # fail fast on unknown names, before any import of torch
    taxonomy = load_taxonomy()
    names = [n for value in args.concept or [] for n in value.split(",") if n]
    for category in (n for value in args.category or [] for n in value.split(",") if n):
        if category not in taxonomy.categories:
            from dataigm.core.errors import UnknownNameError

            raise UnknownNameError("category", category, taxonomy.categories)
        names.append(category)
    taxonomy.resolve([n for n in names if imported_concept(store, n) is None])
    cfg = preset_config(
        args.preset, args.out, concepts=names,
        settings=_settings_overrides(args), images_per_prompt=args.images_per_prompt,
        prompt_count=args.count, image_limit=args.image_limit, shard_size=args.shard_size,
        curation=_curation_options(args))
    result = build(cfg, progress=progress_enabled(args), engine=_engine_options(args), shard=args.shard)
    if not result.get("packed"):
        extra = (f"submitted Slurm jobs {result['generate_job']} (generate) and {result['pack_job']} (pack)"
                 if "generate_job" in result else f"rank {args.shard} done: shards generated "
                 f"{result.get('generated')}, skipped {result.get('skipped')}")
        print(f"{extra}; check progress with: dataigm status {args.out}")
        return 0
    configs = result["configs"]
    images = sum(sum(c["splits"].values()) for c in configs.values() if c["kind"] == "images")
    print(f"built {args.out}: {len([c for c in configs.values() if c['kind'] == 'images'])} image "
          f"configs ({images} images), {len([c for c in configs.values() if c['kind'] == 'prompts'])} "
          f"prompt configs; engine {args.engine}"
          + (f", shards generated {result['generated']}, skipped {result['skipped']}" if "generated" in result else "")
          + f"; {result['seconds']} s")
    return 0


def pack_verb(args: argparse.Namespace) -> int:
    from dataigm.stages.pack import pack

    manifest = pack(args.folder, progress=progress_enabled(args))
    print(f"packed {args.folder}: {len(manifest['configs'])} configs")
    return 0


def status_verb(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import positive
    from dataigm.stages.status import rank_statuses

    positive(args, "tasks")
    statuses, packed = rank_statuses(args.folder, args.tasks)
    for s in statuses:
        log = f"  log: {s.log}" if s.log and s.state != "complete" else ""
        print(f"rank {s.rank:05d}: {s.state:8s} {s.done}/{s.total} shards{log}")
    complete = sum(s.state == "complete" for s in statuses)
    print(f"{complete}/{len(statuses)} ranks complete; release {'packed' if packed else 'not packed'}")
    return 0 if complete == len(statuses) else 1


def curate_verb(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import in_range
    from dataigm.core.extras import require
    from dataigm.stages.curate import recurate
    from dataigm.stages.pack import pack

    require("judges", "dataigm curate")
    in_range(args, "clip_threshold", 0, 1)
    stats = recurate(args.folder, args.judge, progress=progress_enabled(args), clip=args.clip,
                     clip_threshold=args.clip_threshold)
    manifest = pack(args.folder, progress=progress_enabled(args))
    dropped = sum(c.get("status", {}).get("dropped", 0) for c in manifest["configs"].values())
    print(f"re-curated {args.folder}: {stats['curated']} shards judged again, {stats['skipped']} unchanged; "
          f"{dropped} rows dropped in all; packed (no image was generated)")
    return 0


def _add_curation_args(p: argparse.ArgumentParser) -> None:
    c = p.add_argument_group("curation")
    c.add_argument("--curate-judge", action="append", metavar="ARTIFACT",
                   help="a trained judge artifact that checks concept presence for its target concept or category "
                   "(repeatable; default: CLIP zero-shot)")
    c.add_argument("--clip", metavar="PATH_OR_ID", help="CLIP model for zero-shot presence checks "
                   "(default: openai/clip-vit-base-patch32; smoke: the built-in tiny CLIP)")
    c.add_argument("--clip-revision")
    c.add_argument("--clip-threshold", type=float, default=0.5, help="zero-shot presence threshold (default 0.5)")
    c.add_argument("--nudenet-threshold", type=float, default=0.45, help="NudeNet score threshold (default 0.45)")
    c.add_argument("--person-check", metavar="WEIGHTS",
                   help="YOLO person detector for nudity retain images: a shipped ultralytics yaml name, a "
                   ".safetensors state dict, or a .pt checkpoint (opened with the restricted weights-only loader)")


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    e = p.add_argument_group("engine (datatrove executors, the [cluster] extra)")
    e.add_argument("--engine", choices=("inline", "local", "slurm", "ray"), default="inline",
                   help="inline: this process (default); local: LocalPipelineExecutor (one worker per GPU with "
                   "--gpus); slurm: a job array + a dependent pack job; ray: RayPipelineExecutor")
    e.add_argument("--tasks", type=int, default=1, help="ranks (rank r runs plan shards r, r+N, ...)")
    e.add_argument("--workers", type=int, default=-1, help="ranks running at once (default: all)")
    e.add_argument("--shard", metavar="I/N", help="run only rank I of N here (any other scheduler), no pack")
    e.add_argument("--gpus", help="local: comma-separated CUDA device ids, one per worker")
    e.add_argument("--partition", help="slurm partition")
    e.add_argument("--time", default="24:00:00", help="slurm time limit per task")
    e.add_argument("--gpus-per-task", type=int, default=0, help="slurm/ray GPUs per task")
    e.add_argument("--cpus-per-task", type=int, default=1)
    e.add_argument("--mem-per-cpu-gb", type=int, default=4)
    e.add_argument("--env-command", help="slurm: shell command run before each task (e.g. module load)")
    e.add_argument("--venv", help="slurm: virtual environment to activate in each task")
    e.add_argument("--logging-dir", help=f"datatrove logs (default DIR/{LOGS})")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build (or resume) a release folder",
                       description="Build a DataIGM release folder: prompts -> images -> curation "
                       "-> parquet configs + README.md. Rerunning resumes: complete shards are skipped.")
    p.add_argument("--preset", choices=("smoke", "full"), default="full",
                   help="smoke: tiny random-weight models built in code, small and CPU-fast; "
                   "full: the paper's model and sizes (default)")
    p.add_argument("--out", required=True, help="release folder (new, empty or a dataigm folder; path or fsspec URL)")
    p.add_argument("--concept", action="append", metavar="NAME[,NAME...]",
                   help="concepts, categories or imported prompt sets to build (repeatable or comma-separated; "
                   "default: all)")
    p.add_argument("--category", action="append", metavar="NAME[,NAME...]",
                   help="every concept of these categories (nsfw, style, object; repeatable or comma-separated)")
    g = p.add_argument_group("generation")
    g.add_argument("--model", help="diffusers model: Hub id or local folder "
                   "(default: CompVis/stable-diffusion-v1-4; smoke: built-in tiny model)")
    g.add_argument("--revision", help="the model's revision (branch, tag or commit; pinned to a commit once)")
    g.add_argument("--scheduler", help="default, ddim, pndm, lms, euler, euler_a, dpmpp_2m, heun, unipc, ddpm")
    g.add_argument("--steps", type=int, help="denoising steps")
    g.add_argument("--guidance", type=float, help="classifier-free guidance scale")
    g.add_argument("--height", type=int)
    g.add_argument("--width", type=int)
    g.add_argument("--negative-prompt")
    g.add_argument("--dtype", help="auto, fp32, fp16, bf16")
    g.add_argument("--device", help="auto, cpu, cuda")
    g.add_argument("--safety-checker", help="off (default) or on; recorded per row")
    g.add_argument("--compile", action="store_true", help="torch.compile the denoiser")
    g.add_argument("--seed", type=int, help="base seed of every per-image seed (default 0)")
    g.add_argument("--batch-size", type=int, help="images per model call (recorded per row; a resume must keep it)")
    g.add_argument("--images-per-prompt", type=int, help="default: per concept (taxonomy)")
    s = p.add_argument_group("sizes")
    s.add_argument("--count", type=int, help="forget prompts per concept (default: the recipe's)")
    s.add_argument("--image-limit", type=int, help="pairs per subclass and kind that get images (default: all)")
    s.add_argument("--shard-size", type=int, help="images per shard")
    _add_curation_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_engine_args(p)
    p.set_defaults(func=build_verb)

    k = sub.add_parser("pack", help="pack a release folder once every rank is complete",
                       description="Merge shards and verdicts into the release folder; refuses while any "
                       "shard is missing and names them.")
    k.add_argument("folder", metavar="DIR")
    k.add_argument("--no-progress", action="store_true")
    k.set_defaults(func=pack_verb)

    st = sub.add_parser("status", help="complete / missing / failed ranks of a build (exit 1 if incomplete)")
    st.add_argument("folder", metavar="DIR")
    st.add_argument("--tasks", type=int, help="number of ranks (default: the last build's)")
    st.set_defaults(func=status_verb)

    c = sub.add_parser("curate", help="re-curate a built folder with new judges, then pack (no generation)",
                       description="Re-run curation and packing only, under new detectors: e.g. judges trained on "
                       "this release (build v0 -> train-judge -> curate --judge -> publish v1). No model is loaded.")
    c.add_argument("folder", metavar="DIR")
    c.add_argument("--judge", action="append", metavar="ARTIFACT",
                   help="judge artifact for its target concept or category (repeatable)")
    c.add_argument("--clip", metavar="PATH_OR_ID", help="CLIP model for the zero-shot checks")
    c.add_argument("--clip-threshold", type=float)
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=curate_verb)
