"""Taxonomy and prompt verbs: `concepts`, `prompts generate`, `prompts import`, `prompts stats`."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path


def print_counts(rows: list[dict], sample: int = 6) -> None:
    """A sample of the rows and their counts per role and subclass, printed after prompts are written
    (imported text is echoed without terminal escapes)."""
    from dataigm.core.text import clean_line

    print("sample:")
    step = max(1, len(rows) // sample)
    for row in rows[::step][:sample]:
        kind = f"/{row['kind']}" if row.get("kind") else ""
        print(clean_line(f"  [{row['role']}{kind}] {row['prompt']}"))
    print("counts per role:")
    for (role, kind), n in sorted(Counter((r["role"], r.get("kind") or "") for r in rows).items()):
        print(f"  {role}{'/' + kind if kind else ''}: {n}")
    print("counts per subclass:")
    for sub, n in sorted(Counter(r["subclass"] for r in rows).items()):
        print(clean_line(f"  {sub}: {n}"))
    dups = sum(1 for r in rows if r.get("duplicate_of"))
    if dups:
        print(f"flagged duplicates (kept): {dups}")


def _cmd_concepts(args: argparse.Namespace) -> int:
    from dataigm.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    if args.category and args.category not in taxonomy.categories:
        from dataigm.core.errors import UnknownNameError

        raise UnknownNameError("category", args.category, taxonomy.categories)
    if args.concept:
        taxonomy.resolve(args.concept)  # unknown names fail with a suggestion
    if args.format == "json":
        print(json.dumps(taxonomy.as_json(), indent=2))
    else:
        print(taxonomy.tree(args.category, detail=args.detail))
    return 0


def _publish_prompt_config(out: str, name: str, table, label_names, category: str, nsfw: bool,
                           extra: dict | None = None) -> dict[str, int]:
    from dataigm.core.schema import prompt_features
    from dataigm.stages.pack import write_configs

    info = {"kind": "prompts", "category": category, "nsfw": nsfw, **(extra or {})}
    return write_configs(out, {name: (table, prompt_features(label_names), info)})["configs"][name]["splits"]


def _cmd_generate(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import check_out_folder, positive, seed
    from dataigm.core.folders import writing_folder
    from dataigm.core.plan import preset_config
    from dataigm.core.registry import builder_for
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.prepare import prompt_rows, prompt_stats_info, prompt_table

    concept = load_taxonomy().concept(args.concept)
    positive(args, "count", "images_per_prompt")
    seed(args)
    check_out_folder(args.out, "prompts")
    recipe = builder_for(concept).recipe(concept)
    print(f"{concept.name}: recipe {recipe.source} yields up to {recipe.capacity} distinct forget scenes")
    cfg = preset_config("full", args.out, prompt_count=args.count, settings={"base_seed": args.seed},
                        images_per_prompt=args.images_per_prompt)
    rows = prompt_rows(concept, cfg)
    with writing_folder(args.out, "prompts", "dataigm prompts generate", wait=args.wait):
        counts = _publish_prompt_config(args.out, concept.prompt_config, prompt_table(rows, concept.label_names),
                                        concept.label_names, concept.category, concept.nsfw,
                                        {"prompt_stats": prompt_stats_info(concept, rows)})
    print(f"wrote config {concept.prompt_config} to {args.out}: {counts}")
    print_counts(rows)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from dataigm.cli.checks import check_out_folder, seed
    from dataigm.core.folders import writing_folder
    from dataigm.core.registry import BUILDERS
    from dataigm.core.storage import Store
    from dataigm.core.taxonomy import IMPORTED
    from dataigm.stages.imports import SUBCLASS_ORDER, imported_concept, save_import
    from dataigm.stages.prepare import prompt_table

    seed(args)
    check_out_folder(args.out, "prompts")
    path = Path(args.path)
    if args.attacks:
        from dataigm.core.taxonomy import load_taxonomy

        load_taxonomy().concept(args.attacks)
    importer = BUILDERS.get(IMPORTED)()
    retain = Path(args.retain) if args.retain else None
    name, rows, attacks = importer.import_file(path, args.format, args.name, retain, args.seed, args.attacks)
    store = Store(args.out)
    fmt = args.format or rows[0]["source"].split(":", 1)[0]
    order = importer.subclass_order(path, fmt, retain)
    with writing_folder(args.out, "prompts", "dataigm prompts import", wait=args.wait):
        save_import(store, name, rows, f"{fmt}:{path.name}", nsfw=not args.safe, attacks=attacks,
                    subclass_order=order)
        concept = imported_concept(store, name)
        counts = _publish_prompt_config(args.out, concept.prompt_config, prompt_table(rows, None), None, IMPORTED,
                                        concept.nsfw, {"source": f"{fmt}:{path.name}", "attacks": attacks,
                                                       **({SUBCLASS_ORDER: order} if order else {})})
    target = f"; attacks {attacks}" if attacks else ""
    print(f"wrote config {concept.prompt_config} to {args.out}: {counts}{target}; build its images with "
          f"dataigm build --out {args.out} --concept {name}")
    print_counts(rows)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    import sys

    from dataigm.core import prompt_stats
    from dataigm.core.errors import DataIGMError
    from dataigm.core.registry import builder_for
    from dataigm.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    if not args.concept and not args.all:
        raise DataIGMError("prompts stats: name concepts (or categories), or give --all")
    chosen = list(taxonomy.concepts.values()) if args.all else taxonomy.resolve(args.concept)
    categories = {c.category for c in chosen}
    rows, stats = {}, {}
    for c in taxonomy.concepts.values():  # overlaps: against every concept of the same categories
        if c.category not in categories:
            continue
        builder = builder_for(c)
        rows[c.name] = builder.prompt_rows(c)
        stats[c.name] = prompt_stats.concept_stats(rows[c.name], c.name, c.shape, builder.concept_phrases(c),
                                                   builder.overlap_group(c))
    prompt_stats.add_overlaps(stats, rows)
    shown = {c.name: stats[c.name] for c in chosen}
    if args.format == "json":
        print(json.dumps(prompt_stats.as_json(shown), indent=2))
    else:
        print(prompt_stats.table(shown))
    if args.check:
        missed = prompt_stats.failures(shown)
        for line in missed:
            print(f"target missed: {line}", file=sys.stderr)
        if missed:
            return 1
        print(f"every target holds for {len(shown)} concept(s)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The taxonomy and prompt verbs' parsers."""
    from dataigm.cli.common import add_wait

    c = sub.add_parser("concepts", help="print the CatIGMU taxonomy (tree with counts, or JSON)",
                       description="Print the taxonomy: category -> concept (with benchmark ids) -> subclass.")
    c.add_argument("concept", nargs="*", help="check these names exist")
    c.add_argument("--category", help="only this category")
    c.add_argument("--detail", action="store_true", help="every concept's trigger words, labels and subclasses")
    c.add_argument("--format", choices=("tree", "json"), default="tree")
    c.set_defaults(func=_cmd_concepts)

    p = sub.add_parser("prompts", help="write a prompt-only config, or import a peer prompt set")
    verbs = p.add_subparsers(dest="prompts_command", required=True, metavar="VERB")
    g = verbs.add_parser("generate", help="write CONCEPT-prompts from the concept's recipe",
                         description="Generate a concept's paired prompts and write them as the config "
                         "CONCEPT-prompts into the release folder --out; prints a sample and counts.")
    g.add_argument("concept", metavar="CONCEPT")
    g.add_argument("--out", required=True, help="release folder to write into")
    g.add_argument("--count", type=int, help="forget prompts (default: the recipe's size)")
    g.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    g.add_argument("--images-per-prompt", type=int, help="seeds per prompt (default: taxonomy)")
    add_wait(g)
    g.set_defaults(func=_cmd_generate)
    i = verbs.add_parser("import", help="import an I2P-style CSV or IGMU JSON as NAME-prompts",
                         description="Import a peer prompt set into the release folder --out as NAME-prompts; build "
                         "its images with `dataigm build --concept NAME`. Every source row is kept.")
    i.add_argument("path", metavar="PATH")
    i.add_argument("--out", required=True, help="release folder to write into")
    i.add_argument("--name", help="config name (default: the file's stem)")
    i.add_argument("--format", help="i2p, igmu, unlearndiffatk, ring-a-bell or mma-diffusion (default: from the "
                   "extension and the CSV header)")
    i.add_argument("--retain", help="igmu: the retain file whose lists pair with PATH's")
    i.add_argument("--attacks", metavar="CONCEPT", help="the concept this prompt set attacks")
    i.add_argument("--seed", type=int, default=0, help="base seed for rows without their own")
    i.add_argument("--safe", action="store_true",
                   help="the set is not nsfw (default: treated as nsfw: gated, NudeNet verdicts recorded)")
    add_wait(i)
    i.set_defaults(func=_cmd_import)
    s = verbs.add_parser("stats", help="diversity measures of concepts' prompt sets, checked against the targets",
                         description="Per concept and role: count, distinct word-trigram ratio at a fixed sample "
                         "size, vocabulary, the largest share of prompts holding one 4-word sequence (concept "
                         "phrases removed), and the largest overlap with another concept's same role. --check "
                         "exits 1 naming every missed target.")
    s.add_argument("concept", nargs="*", metavar="CONCEPT", help="concepts or categories")
    s.add_argument("--all", action="store_true", help="every concept of the taxonomy")
    s.add_argument("--check", action="store_true", help="compare with the targets; exit 1 if one is missed")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=_cmd_stats)
