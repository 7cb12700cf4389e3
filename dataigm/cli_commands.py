"""CLI commands that live outside cli.py, each registered on the `dataigm` parser."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def _print_counts(rows: list[dict], sample: int = 5) -> None:
    print("sample:")
    step = max(1, len(rows) // sample)
    for row in rows[::step][:sample]:
        kind = f"/{row['kind']}" if row.get("kind") else ""
        print(f"  [{row['role']}{kind}] {row['prompt']}")
    print("counts per role:")
    for (role, kind), n in sorted(Counter((r["role"], r.get("kind") or "") for r in rows).items()):
        print(f"  {role}{'/' + kind if kind else ''}: {n}")
    print("counts per subclass:")
    for sub, n in sorted(Counter(r["subclass"] for r in rows).items()):
        print(f"  {sub}: {n}")
    dups = sum(1 for r in rows if r.get("duplicate_of"))
    if dups:
        print(f"flagged duplicates (kept): {dups}")


def _cmd_prompts(args: argparse.Namespace) -> int:
    from dataigm.errors import DataIGMError
    from dataigm.pack import prompt_config_info, update_release
    from dataigm.storage import Store

    store = Store(args.out)
    if args.target[0] == "import":
        from builders.importers import import_prompts
        from dataigm.imports import write_import

        if len(args.target) != 2:
            raise DataIGMError("usage: dataigm prompts import PATH --out DIR [--name NAME] [--format i2p|igmu]")
        path = Path(args.target[1])
        name, rows = import_prompts(path, args.format, args.name,
                                    Path(args.retain) if args.retain else None, args.seed)
        fmt = args.format or path.suffix.lstrip(".")
        counts = write_import(store, name, rows, f"{fmt}:{path.name}", nsfw=not args.safe)
        update_release(store, {})
        print(f"wrote config {name}-prompts to {args.out}: {counts}")
        _print_counts(rows)
        return 0
    if len(args.target) != 1:
        raise DataIGMError("give one concept: dataigm prompts CONCEPT --out DIR [--count N]")
    from dataigm.plan import preset_config
    from dataigm.stages import prompt_rows, write_prompt_config
    from dataigm.taxonomy import load_taxonomy

    concept = load_taxonomy().concept(args.target[0])
    cfg = preset_config("full", args.out, prompt_count=args.count,
                        settings={"base_seed": args.seed}, images_per_prompt=args.images_per_prompt)
    from builders.recipe import recipe_for

    print(f"{concept.name}: recipe {recipe_for(concept).source} yields up to "
          f"{recipe_for(concept).capacity} distinct forget scenes")
    rows = prompt_rows(concept, cfg)
    counts = write_prompt_config(store, concept.prompt_config, rows, concept.label_names)
    update_release(store, prompt_config_info(store, concept.prompt_config, concept.category, concept.nsfw))
    print(f"wrote config {concept.prompt_config} to {args.out}: {counts}")
    _print_counts(rows)
    return 0


def register_prompts(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prompts", help="write a prompt-only config, or import a peer prompt set",
        description="dataigm prompts CONCEPT --out DIR [--count N]: write CONCEPT-prompts.\n"
        "dataigm prompts import PATH --out DIR [--name NAME] [--format i2p|igmu] [--retain PATH]: "
        "import an I2P-style CSV or IGMU JSON as NAME-prompts (build it with --concept NAME).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="+", metavar="CONCEPT | import PATH")
    p.add_argument("--out", required=True, help="release folder")
    p.add_argument("--count", type=int, help="forget prompts (default: the recipe's size)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--images-per-prompt", type=int, help="seeds per prompt (default: taxonomy)")
    p.add_argument("--name", help="import: config name (default: the file's stem)")
    p.add_argument("--format", choices=("i2p", "igmu"), help="import: format (default: by extension)")
    p.add_argument("--retain", help="import (igmu): the retain file whose lists pair with PATH's")
    p.add_argument("--safe", action="store_true",
                   help="import: the set is not nsfw (default: treated as nsfw, NudeNet-curated)")
    p.set_defaults(func=_cmd_prompts)


def _judges(sub: argparse._SubParsersAction) -> None:
    from dataigm.judge_cli import register

    register(sub)


def _publishing(sub: argparse._SubParsersAction) -> None:
    from dataigm.publish_cli import register

    register(sub)


REGISTRARS = [register_prompts, _judges, _publishing]
