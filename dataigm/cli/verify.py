"""`dataigm verify`: structure, stored image hashes and regeneration of sampled rows."""

from __future__ import annotations

import argparse


def _cmd_verify(args: argparse.Namespace) -> int:
    import csv
    from collections import Counter
    from contextlib import nullcontext
    from pathlib import Path

    from dataigm.cli.checks import check_out_file, in_range
    from dataigm.core.extras import require
    from dataigm.core.folders import writing_folder
    from dataigm.core.storage import atomic_output
    from dataigm.core.text import clean_line, csv_cell
    from dataigm.verify import as_rows, verify

    in_range(args, "sample", 0, 10**6)
    out = check_out_file(args.out, (".csv",)) if args.out is not None else None
    if args.sample:
        require("build", "dataigm verify --sample")
    local = Path(args.release).is_dir()  # it may complete an interrupted pack: one writer at a time
    with (writing_folder(args.release, "release", "dataigm verify", wait=args.wait, flag="", create=False)
          if local else nullcontext()):
        findings = verify(args.release, args.config, args.sample or 0, args.seed)
    bad = [f for f in findings if not f.ok]
    checked = Counter(f.check for f in findings)
    for f in bad:
        where = "".join(f" {x}" for x in (f.config, f.row) if x)
        print(clean_line(f"MISMATCH {f.check}{where}: {f.detail}"))
    if out is not None:
        with atomic_output(out) as tmp, tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["check", "config", "row", "ok", "detail"])
            writer.writeheader()
            writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in as_rows(findings))
    regenerated = checked.get("regenerated", 0)
    print(f"{args.release}: structure {'ok' if not checked.get('structure') else 'BROKEN'}; "
          f"{len(bad)} problem(s); {regenerated} row(s) regenerated"
          + (f", {sum(1 for f in findings if f.check == 'regenerated' and f.ok)} identical" if regenerated else ""))
    return 1 if bad else 0


def register(sub: argparse._SubParsersAction) -> None:
    """The `verify` parser."""
    from dataigm.cli.common import add_deprecated, add_release, add_wait

    v = sub.add_parser("verify", help="check a release: structure, image hashes, regenerated rows (exit 1 on any "
                       "mismatch)", description="Re-hash every stored image against its sha256, check shards against "
                       "the manifest, card and schema, and regenerate N random rows (with their batch mates) from "
                       "their own columns to compare bytes.")
    add_release(v)
    v.add_argument("--config", action="append", help="only these configs (repeatable)")
    v.add_argument("--sample", type=int, default=0, help="rows to regenerate per image config (default 0)")
    v.add_argument("--seed", type=int, default=0, help="which rows are sampled")
    v.add_argument("--out", help="FILE.csv to write: one row per check (its folder must exist)")
    add_deprecated(v, "--report", "--out", dest="out")
    add_wait(v)
    v.set_defaults(func=_cmd_verify)
