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
    result = build(cfg, progress=not args.no_progress)
    configs = result["configs"]
    images = sum(sum(c["splits"].values()) for c in configs.values() if c["kind"] == "images")
    print(f"built {args.out}: {len([c for c in configs.values() if c['kind'] == 'images'])} image "
          f"configs ({images} images), {len([c for c in configs.values() if c['kind'] == 'prompts'])} "
          f"prompt configs; shards generated {result['generated']}, skipped {result['skipped']}; "
          f"{result['seconds']} s")
    return 0


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
    p.set_defaults(func=_cmd_build)


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
