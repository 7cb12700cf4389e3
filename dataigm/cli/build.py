"""Build verbs: `build`, `pack`, `status` and `curate` (re-curation without generation)."""

from __future__ import annotations

import argparse

from dataigm.cli.common import (
    add_curation_args,
    add_deprecated,
    add_engine_args,
    add_release,
    add_wait,
    curation_changes,
    engine_options,
    progress_enabled,
)


def _settings_overrides(args: argparse.Namespace) -> dict:
    return {"model": args.model, "revision": args.revision, "scheduler": args.scheduler,
            "steps": args.steps, "guidance": args.guidance, "height": args.height,
            "width": args.width, "negative_prompt": args.negative_prompt, "dtype": args.dtype,
            "device": args.device, "safety_checker": args.safety_checker,
            "compile": True if args.compile else None, "base_seed": args.seed,
            "batch_size": args.batch_size}


def build_verb(args: argparse.Namespace) -> int:
    """`dataigm build`: check every argument, then build (or resume) the release folder."""
    from dataigm.build import build
    from dataigm.cli.checks import check_out_folder, positive, revision_for_hub_ids
    from dataigm.core.errors import DataIGMError
    from dataigm.core.layout import PLAN
    from dataigm.core.plan import load_plan, parse_shard, preset_config
    from dataigm.core.storage import Store
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.curate import check_judge_targets, judge_targets
    from dataigm.stages.imports import imported_concept

    if args.preset is None and not (args.concept or args.category):
        raise DataIGMError(f"say what to build in {args.out or 'DIR'}: --preset smoke (every concept, tiny models, "
                           "minutes on a CPU), --preset full (every concept with the paper's model: days on GPUs), "
                           "or --concept/--category NAME")
    if args.shard:
        parse_shard(args.shard)
    positive(args, "count", "image_limit", "shard_size", "images_per_prompt", "batch_size", "tasks", "steps")
    revision_for_hub_ids(args, ("model", "revision"), ("clip", "clip_revision"))
    check_out_folder(args.out, "release")
    store = Store(args.out)  # fail fast on unknown names, before any import of torch
    taxonomy = load_taxonomy()
    names = [n for value in args.concept or [] for n in value.split(",") if n]
    for category in (n for value in args.category or [] for n in value.split(",") if n):
        if category not in taxonomy.categories:
            from dataigm.core.errors import UnknownNameError

            raise UnknownNameError("category", category, taxonomy.categories)
        names.append(category)
    concepts = taxonomy.resolve([n for n in names if imported_concept(store, n) is None])
    judges = tuple(judge_targets(args.judge)) if args.judge else ()
    if judges:  # a judge for nothing this build makes is refused before any work
        held = [c.name for c in concepts]
        if store.exists(PLAN):  # a resume: what the folder already holds counts too
            held += list(load_plan(store)["concepts"])
        check_judge_targets(judges, held, args.out)
    cfg = preset_config(
        args.preset or "full", args.out, concepts=names,
        settings=_settings_overrides(args), images_per_prompt=args.images_per_prompt,
        prompt_count=args.count, image_limit=args.image_limit, shard_size=args.shard_size,
        curation={**curation_changes(args), **({"judges": judges} if judges else {})})
    # every option checked (build.check_build) before the folder is claimed, then written holding it
    result = build(cfg, progress=progress_enabled(args), engine=engine_options(args), shard=args.shard,
                   wait=args.wait)
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
    """`dataigm pack`: write the release from complete shards (completes an interrupted pack)."""
    from dataigm.core.folders import writing_folder
    from dataigm.stages.pack import pack

    with writing_folder(args.release, "release", "dataigm pack", wait=args.wait, flag="", create=False):
        manifest = pack(args.release, progress=progress_enabled(args))
    print(f"packed {args.release}: {len(manifest['configs'])} configs")
    return 0


def status_verb(args: argparse.Namespace) -> int:
    """`dataigm status`: one line per rank; exit 1 while any is incomplete."""
    from dataigm.cli.checks import positive
    from dataigm.stages.status import rank_statuses

    positive(args, "tasks")
    statuses, packed = rank_statuses(args.release, args.tasks)
    for s in statuses:
        log = f"  log: {s.log}" if s.log and s.state != "complete" else ""
        print(f"rank {s.rank:05d}: {s.state:8s} {s.done}/{s.total} shards{log}")
    complete = sum(s.state == "complete" for s in statuses)
    print(f"{complete}/{len(statuses)} ranks complete; release {'packed' if packed else 'not packed'}")
    return 0 if complete == len(statuses) else 1


def curate_verb(args: argparse.Namespace) -> int:
    """`dataigm curate`: re-judge the shards whose policy changed, then pack (no generation)."""
    from dataigm.cli.checks import revision_for_hub_ids
    from dataigm.core.extras import require
    from dataigm.core.folders import writing_folder
    from dataigm.stages.curate import recurate
    from dataigm.stages.pack import pack

    require("judges", "dataigm curate")
    revision_for_hub_ids(args, ("clip", "clip_revision"))
    changes = curation_changes(args)
    with writing_folder(args.release, "release", "dataigm curate", wait=args.wait, flag="", create=False):
        stats = recurate(args.release, args.judge, progress=progress_enabled(args), **changes)
        manifest = pack(args.release, progress=progress_enabled(args))
    dropped = sum(c.get("status", {}).get("dropped", 0) for c in manifest["configs"].values())
    print(f"re-curated {args.release}: {stats['curated']} shards judged again, {stats['skipped']} unchanged; "
          f"{dropped} rows dropped in all; packed (no image was generated)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The build verbs' parsers."""
    from dataigm.core.defaults import default_model
    from dataigm.core.settings import DTYPES

    p = sub.add_parser("build", help="build (or resume) a release folder",
                       description="Build a DataIGM release folder: prompts -> images -> curation "
                       "-> parquet configs + dataset card. Say what to build: --preset and/or --concept/--category. "
                       "Rerunning the same command resumes: complete shards are skipped.")
    p.add_argument("--preset", choices=("smoke", "full"),
                   help="smoke: every concept with tiny random-weight models built in code, small and CPU-fast; "
                   "full: the paper's model and sizes (the default with --concept/--category)")
    p.add_argument("--out", required=True, help="release folder (new, empty or a dataigm folder; path or fsspec URL)")
    p.add_argument("--concept", action="append", metavar="NAME[,NAME...]",
                   help="concepts, categories or imported prompt sets to build (repeatable or comma-separated; "
                   "default with --preset: all)")
    p.add_argument("--category", action="append", metavar="NAME[,NAME...]",
                   help="every concept of these categories (nsfw, style, object; repeatable or comma-separated)")
    g = p.add_argument_group("generation")
    g.add_argument("--model", help="diffusers model: Hub id or local folder "
                   f"(default: {default_model('generation')}; smoke: built-in tiny model)")
    g.add_argument("--revision", help="the --model's revision (branch, tag or commit; pinned to a commit once)")
    g.add_argument("--scheduler", help="default, ddim, pndm, lms, euler, euler_a, dpmpp_2m, heun, unipc, ddpm")
    g.add_argument("--steps", type=int, help="denoising steps")
    g.add_argument("--guidance", type=float, help="classifier-free guidance scale")
    g.add_argument("--height", type=int)
    g.add_argument("--width", type=int)
    g.add_argument("--negative-prompt")
    g.add_argument("--dtype", help=f"the --model's precision: {', '.join(DTYPES)} (auto: fp16 on CUDA, else fp32)")
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
    add_curation_args(p, "defaults below")
    add_deprecated(p, "--curate-judge", "--judge", dest="judge", append=True)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_wait(p)
    add_engine_args(p)
    p.set_defaults(func=build_verb)

    k = sub.add_parser("pack", help="pack a release folder once every rank is complete",
                       description="Merge shards and verdicts into the release folder (and complete a pack that was "
                       "interrupted); refuses while any shard is missing and names them.")
    add_release(k, help="release folder of a build")
    k.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_wait(k)
    k.set_defaults(func=pack_verb)

    st = sub.add_parser("status", help="complete / missing / failed ranks of a build (exit 1 if incomplete)")
    add_release(st, help="release folder of a build")
    st.add_argument("--tasks", type=int, help="number of ranks (default: the last build's)")
    st.set_defaults(func=status_verb)

    c = sub.add_parser("curate", help="re-curate a built folder with new judges or options, then pack (no generation)",
                       description="Re-run curation and packing only, under new detectors or options: e.g. judges "
                       "trained on this release (build v0 -> train-judge -> curate --judge -> publish v1). No "
                       "generation model is loaded; only shards whose checks changed are judged again.")
    add_release(c, help="release folder of a build")
    add_curation_args(c, "default: the build's")
    c.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_wait(c)
    c.set_defaults(func=curate_verb)
