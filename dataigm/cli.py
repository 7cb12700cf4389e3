"""The `dataigm` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from dataigm.errors import DataIGMError

Handler = Callable[[argparse.Namespace], int]


def _cmd_concepts(args: argparse.Namespace) -> int:
    from dataigm.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    if args.concept:
        taxonomy.resolve(args.concept)  # unknown names fail with a suggestion
    print(taxonomy.tree())
    return 0


def _settings_overrides(args: argparse.Namespace) -> dict:
    return {"model": args.model, "revision": args.revision, "scheduler": args.scheduler,
            "steps": args.steps, "guidance": args.guidance, "height": args.height,
            "width": args.width, "negative_prompt": args.negative_prompt, "dtype": args.dtype,
            "device": args.device, "safety_checker": args.safety_checker,
            "compile": True if args.compile else None, "base_seed": args.seed,
            "batch_size": args.batch_size}


def _cmd_build(args: argparse.Namespace) -> int:
    from dataigm.build import build
    from dataigm.imports import imported_concept
    from dataigm.plan import preset_config
    from dataigm.storage import Store
    from dataigm.taxonomy import load_taxonomy

    store = Store(args.out)  # fail fast on unknown names, before any import of torch
    load_taxonomy().resolve([n for n in args.concept or [] if imported_concept(store, n) is None])
    cfg = preset_config(
        args.preset, args.out, concepts=args.concept or [],
        settings=_settings_overrides(args), images_per_prompt=args.images_per_prompt,
        prompt_count=args.count, image_limit=args.image_limit, shard_size=args.shard_size,
        person_check=args.person_check)
    result = build(cfg, progress=not args.no_progress, engine=_engine_options(args), shard=args.shard)
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


def _engine_options(args: argparse.Namespace):
    from dataigm.engines import EngineOptions

    return EngineOptions(
        engine=args.engine, tasks=args.tasks, workers=args.workers,
        gpus=args.gpus.split(",") if args.gpus else None, partition=args.partition, time=args.time,
        gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task, mem_per_cpu_gb=args.mem_per_cpu_gb,
        env_command=args.env_command, venv_path=args.venv, logging_dir=args.logging_dir)


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    e = p.add_argument_group("engine (datatrove executors)")
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
    e.add_argument("--logging-dir", help="datatrove logs (default DIR/_build/logs)")


def _cmd_pack(args: argparse.Namespace) -> int:
    from dataigm.pack import pack

    manifest = pack(args.out, progress=not args.no_progress)
    print(f"packed {args.out}: {len(manifest['configs'])} configs")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from dataigm.status import rank_statuses

    statuses, packed = rank_statuses(args.out, args.tasks)
    for s in statuses:
        log = f"  log: {s.log}" if s.log and s.state != "complete" else ""
        print(f"rank {s.rank:05d}: {s.state:8s} {s.done}/{s.total} shards{log}")
    complete = sum(s.state == "complete" for s in statuses)
    print(f"{complete}/{len(statuses)} ranks complete; release {'packed' if packed else 'not packed'}")
    return 0 if complete == len(statuses) else 1


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build (or resume) a release folder",
                       description="Build a DataIGM release folder: prompts -> images -> curation "
                       "-> parquet configs + README.md. Rerunning resumes: complete shards are "
                       "skipped.")
    p.add_argument("--preset", choices=("smoke", "full"), default="full",
                   help="smoke: a tiny random-weight model built in code, small and CPU-fast; "
                   "full: the paper's model and sizes (default)")
    p.add_argument("--out", required=True, help="release folder (local path or fsspec URL)")
    p.add_argument("--concept", action="append", metavar="NAME",
                   help="concept or category to build (repeatable; default: all)")
    g = p.add_argument_group("generation")
    g.add_argument("--model", help="diffusers model: Hub id or local folder "
                   "(default: CompVis/stable-diffusion-v1-4; smoke: built-in tiny model)")
    g.add_argument("--revision", help="model revision (branch, tag or commit)")
    g.add_argument("--scheduler", help="default, ddim, pndm, lms, euler, euler_a, dpmpp_2m, heun, "
                   "unipc, ddpm")
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
    g.add_argument("--batch-size", type=int, help="images per model call (never changes rows)")
    g.add_argument("--images-per-prompt", type=int, help="default: per concept (taxonomy)")
    s = p.add_argument_group("sizes")
    s.add_argument("--count", type=int, help="forget prompts per concept (default: the recipe's)")
    s.add_argument("--image-limit", type=int,
                   help="pairs per subclass and kind that get images (default: all)")
    s.add_argument("--shard-size", type=int, help="images per shard")
    p.add_argument("--person-check", metavar="WEIGHTS",
                   help="curate nudity retain images with a YOLO person detector (yolov8n.pt, a .yaml, or "
                   ".safetensors); rows without a person are dropped with that reason")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_engine_args(p)
    p.set_defaults(func=_cmd_build)
    k = sub.add_parser("pack", help="pack a release folder once every rank is complete",
                       description="Merge shards and verdicts into the release folder; refuses while any "
                       "shard is missing and names them.")
    k.add_argument("out", metavar="DIR")
    k.add_argument("--no-progress", action="store_true")
    k.set_defaults(func=_cmd_pack)
    st = sub.add_parser("status", help="complete / missing / failed ranks of a build (exit 1 if incomplete)")
    st.add_argument("out", metavar="DIR")
    st.add_argument("--tasks", type=int, help="number of ranks (default: the last build's)")
    st.set_defaults(func=_cmd_status)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dataigm", description="Build, curate, judge and publish DataIGM, the dataset for "
        "machine unlearning in image generation models.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser("concepts", help="print the CatIGMU taxonomy tree",
                       description="Print the taxonomy: category -> concept -> subclass.")
    c.add_argument("concept", nargs="*", help="check these names exist")
    c.set_defaults(func=_cmd_concepts)
    _add_build(sub)
    for register in _extra_commands():
        register(sub)
    return p


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands defined in their own modules (prompts, judges, publishing, engines)."""
    from dataigm import cli_commands

    return cli_commands.REGISTRARS


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except DataIGMError as exc:
        print(f"dataigm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dataigm: interrupted; rerun the same command to resume (complete shards are kept)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
