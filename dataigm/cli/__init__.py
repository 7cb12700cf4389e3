"""The `dataigm` command line: one module per verb group, wired here.

Every user or environment error ends as one line `dataigm: error: ...` and exit status 2; Ctrl-C
exits 130 and says how to resume. Tracebacks are for bugs only. The vocabulary every verb shares
(RELEASE, --out, --revision, --judge, -q/-v anywhere, no abbreviated flags) lives in cli.common.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dataigm.cli.common import Parser, progress_enabled
from dataigm.core.errors import DataIGMError

__all__ = ["main", "parser", "progress_enabled"]

VERB_GROUPS = ("prompts", "build", "judges", "eval", "publish", "verify", "report")


def parser() -> argparse.ArgumentParser:
    """The whole command line: every verb group's parsers under one `dataigm` parser."""
    import importlib

    p = Parser(prog="dataigm", description="Build, curate, judge, publish and evaluate DataIGM, the dataset for "
               "machine unlearning in image generation models. -q/-v go before or after the verb.")
    p.set_defaults(verbosity=0)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in VERB_GROUPS:
        importlib.import_module(f"dataigm.cli.{group}").register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit status."""
    from dataigm.core.logs import configure, quiet_progress

    args = parser().parse_args(argv)
    configure(args.verbosity)
    if not progress_enabled(args):
        quiet_progress()
    try:
        return args.func(args)
    except DataIGMError as exc:
        from dataigm.core.text import clean_line

        print(f"dataigm: error: {clean_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dataigm: interrupted; rerun the same command to resume (complete work is kept)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 141

