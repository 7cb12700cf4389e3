"""`dataigm verify`: structure, stored image hashes and regeneration of sampled rows."""

from __future__ import annotations

import argparse


def _cmd_verify(args: argparse.Namespace) -> int:
    import csv
    from collections import Counter

    from dataigm.cli.checks import in_range
    from dataigm.core.extras import require
    from dataigm.verify import as_rows, verify

    in_range(args, "sample", 0, 10**6)
    if args.sample:
        require("build", "dataigm verify --sample")
    findings = verify(args.source, args.config, args.sample or 0, args.seed)
    bad = [f for f in findings if not f.ok]
    checked = Counter(f.check for f in findings)
    for f in bad:
        where = " ".join(x for x in (f.config, f.row) if x)
        print(f"MISMATCH {f.check} {where}: {f.detail}")
    if args.report:
        with open(args.report, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["check", "config", "row", "ok", "detail"])
            writer.writeheader()
            writer.writerows(as_rows(findings))
    regenerated = checked.get("regenerated", 0)
    print(f"{args.source}: structure {'ok' if not checked.get('structure') else 'BROKEN'}; "
          f"{len(bad)} problem(s); {regenerated} row(s) regenerated"
          + (f", {sum(1 for f in findings if f.check == 'regenerated' and f.ok)} identical" if regenerated else ""))
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("verify", help="check a release: structure, image hashes, regenerated rows (exit 1 on any "
                       "mismatch)", description="Re-hash every stored image against its sha256, check shards against "
                       "the manifest, card and schema, and regenerate N random rows (with their batch mates) from "
                       "their own columns to compare bytes.")
    v.add_argument("source", metavar="DIR_OR_HUB_ID", help="release folder or ORG/NAME[@REVISION]")
    v.add_argument("--config", action="append", help="only these configs (repeatable)")
    v.add_argument("--sample", type=int, default=0, help="rows to regenerate per image config (default 0)")
    v.add_argument("--seed", type=int, default=0, help="which rows are sampled")
    v.add_argument("--report", help="FILE.csv: one row per check")
    v.set_defaults(func=_cmd_verify)
