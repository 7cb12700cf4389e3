"""`dataigm report`: one self-contained HTML page for releases, judges and evaluation runs."""

from __future__ import annotations

import argparse
from pathlib import Path

REPORT_KINDS = {"evaluation": "run", "judge": "judge", "release": "release"}  # report input -> folder kind


def _plot_folders(paths: list[str], kinds: dict[str, str]) -> dict[str, str]:
    """The local input folders the plot files go into (releases, judges, the first evaluation
    run), each with the kind it is written as; checked before any work: a dataigm folder of the
    kind its files say (a prompt folder stays one), never someone else's files."""
    from dataigm.core.errors import DataIGMError
    from dataigm.core.folders import check_folder_kind, folder_kind
    from dataigm.core.layout import OWNER

    runs = [p for p in paths if kinds[p] == "evaluation"][:1]
    folders = {}
    for path in dict.fromkeys(p for p in paths if Path(p).is_dir() and (kinds[p] != "evaluation" or p in runs)):
        found, how = folder_kind(path)
        if how == "foreign":
            raise DataIGMError(f"{path}: not a dataigm folder (no {OWNER}), so its plots are not written into it; "
                               "report it with --no-plot-files")
        check_folder_kind(path, REPORT_KINDS[kinds[path]], flag="")  # a folder of another kind: one line
        folders[path] = found or REPORT_KINDS[kinds[path]]
    return folders


def _cmd_report(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from dataigm.cli.checks import check_out_file, in_range
    from dataigm.core.extras import require
    from dataigm.core.folders import writing_folder
    from dataigm.report.page import kind_of, render

    require("report", "dataigm report")
    in_range(args, "max_images", 0, 100_000)
    in_range(args, "max_mb", 0, 10_000)
    out = check_out_file(args.out, (".html", ".htm"))
    kinds = {path: kind_of(path) for path in args.paths}
    plot_folders = {} if args.no_plot_files else _plot_folders(args.paths, kinds)
    with ExitStack() as held:  # plots go next to their inputs: one writer at a time, as any verb's
        for path, kind in plot_folders.items():
            held.enter_context(writing_folder(path, kind, "dataigm report", wait=args.wait, flag="", create=False))
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
