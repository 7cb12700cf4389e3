"""The `dataigm` command line: one module per verb group, wired here.

Every user or environment error ends as one line `dataigm: error: ...` and exit status 2; Ctrl-C
exits 130 and says how to resume. Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dataigm.core.errors import DataIGMError

VERB_GROUPS = ("prompts", "build", "judges", "eval", "publish", "verify", "report")


def parser() -> argparse.ArgumentParser:
    import importlib

    p = argparse.ArgumentParser(
        prog="dataigm", description="Build, curate, judge, publish and evaluate DataIGM, the dataset for "
        "machine unlearning in image generation models.")
    p.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity", default=0,
                   help="warnings and errors only")
    p.add_argument("-v", "--verbose", action="store_const", const=1, dest="verbosity", help="debug log lines")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in VERB_GROUPS:
        importlib.import_module(f"dataigm.cli.{group}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from dataigm.core.logs import configure

    args = parser().parse_args(argv)
    configure(args.verbosity)
    try:
        return args.func(args)
    except DataIGMError as exc:
        print(f"dataigm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dataigm: interrupted; rerun the same command to resume (complete work is kept)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141


def progress_enabled(args: argparse.Namespace) -> bool:
    return not getattr(args, "no_progress", False) and args.verbosity >= 0
