"""`dataigm report`: one self-contained HTML page for releases, judges and evaluation runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_report(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from dataigm.cli.checks import check_out_file, in_range
    from dataigm.core.extras import require
    from dataigm.core.folders import folder_lock
    from dataigm.report.page import kind_of, render

    require("report", "dataigm report")
    in_range(args, "max_images", 0, 100_000)
    in_range(args, "max_mb", 0, 10_000)
    out = check_out_file(args.out, (".html", ".htm"))
    kinds = {path: kind_of(path) for path in args.paths}
    with ExitStack() as locks:
        if not args.no_plot_files:  # plots go next to the local inputs (runs: the first): one writer at a time
            runs = [p for p in args.paths if kinds[p] == "evaluation"][:1]
            for path in dict.fromkeys(p for p in args.paths if Path(p).is_dir() and
                                      (kinds[p] != "evaluation" or p in runs)):
                locks.enter_context(folder_lock(path, "dataigm report", wait=args.wait))
        stats = render(args.paths, out, args.max_images, int(args.max_mb * 1_000_000), not args.no_plot_files,
                       args.config)
    print(f"wrote {out}: {stats['sections']} sections, {stats['images']} images, "
          f"{stats['bytes'] / 1e6:.1f} MB, {stats['seconds']} s")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The `report` parser."""
    from dataigm.cli.common import add_wait

    r = sub.add_parser("report", help="one self-contained HTML page: releases, judges, evaluation runs",
                       description="Look at the data: counts, drop reasons, score histograms, forget/retain pairs "
                       "side by side, judge curves, evaluation charts. PATH: a release folder or Hub id[@revision], "
                       "a judge artifact folder, or an evaluation run folder. Works offline; thumbnails and plots "
                       "are embedded.")
    r.add_argument("paths", nargs="+", metavar="PATH")
    r.add_argument("--out", required=True, help="FILE.html to write")
    r.add_argument("--max-images", type=int, default=200, help="thumbnails at most (default 200)")
    r.add_argument("--max-mb", type=float, default=12.0, help="embedded thumbnails at most this size (default 12)")
    r.add_argument("--config", action="append", help="release: only these configs")
    r.add_argument("--no-plot-files", action="store_true",
                   help="do not also write the plots next to their inputs (release/plots, artifact/plots)")
    add_wait(r, "an input folder")
    r.set_defaults(func=_cmd_report)
