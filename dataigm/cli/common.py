"""What the verbs share, so one thing has one flag name everywhere.

- `Parser`: every parser and sub-parser refuses abbreviated flags (`--task` is not taken for
  `--tasks`) and accepts -q/-v before or after the verb.
- The release a verb reads is the positional RELEASE (a folder, or a Hub id ORG/NAME[@REVISION]);
  `--revision` is only ever the revision of `--model`; whatever a verb writes is `--out`.
- Old spellings (`--data`, `--curate-judge`, `--data-revision`, `verify --report`) keep working for
  one release and print one deprecation line.
- The argument groups several verbs take: curation (build, curate), engines (build, eval run).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

RELEASE_HELP = "release folder, or Hub id ORG/NAME[@REVISION]"
DTYPES = ("auto", "fp32", "bf16")  # CLIP judge and curation precision choices


class Parser(argparse.ArgumentParser):
    """An ArgumentParser without abbreviated flags that takes -q/-v wherever it is, verb or not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # SUPPRESS: a verb's parser sets verbosity only when the flag is given after the verb, so
        # `dataigm -q build` and `dataigm build -q` both work (the top level sets the default 0).
        self.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity",
                          default=argparse.SUPPRESS, help="warnings and errors only")
        self.add_argument("-v", "--verbose", action="store_const", const=1, dest="verbosity",
                          default=argparse.SUPPRESS, help="debug log lines")


def add_wait(p: argparse.ArgumentParser, what: str = "the folder") -> None:
    """--wait, on every verb that writes a folder (see core.folders: one writer at a time)."""
    p.add_argument("--wait", action="store_true", help=f"if another dataigm command is writing {what}, wait "
                   "for it to finish instead of stopping")


def progress_enabled(args: argparse.Namespace) -> bool:
    """Progress bars unless --no-progress or --quiet."""
    return not getattr(args, "no_progress", False) and getattr(args, "verbosity", 0) >= 0


# -- deprecated spellings --------------------------------------------------------------------------


def warn_deprecated(old: str, new: str) -> None:
    """The one line an old spelling prints."""
    print(f"dataigm: warning: {old} is deprecated and goes in the next release; use {new}", file=sys.stderr)


class _Deprecated(argparse.Action):
    """An old flag that still sets the new one's value, after one warning line."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", append: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new, self.append = new, append

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        warn_deprecated(option_string or self.option_strings[0], self.new)
        if self.append:
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)


def add_deprecated(p: argparse.ArgumentParser | argparse._ArgumentGroup, old: str, new: str, dest: str,
                   append: bool = False, **kwargs: Any) -> None:
    """`old` keeps working as `new` (hidden from --help, one warning line when used)."""
    p.add_argument(old, dest=dest, action=_Deprecated, new=new, append=append, help=argparse.SUPPRESS,
                   default=argparse.SUPPRESS, **kwargs)


# -- the release a verb reads ----------------------------------------------------------------------


def add_release(p: argparse.ArgumentParser, help: str = RELEASE_HELP, old_flag: str | None = None,
                revision_flag: bool = False) -> None:
    """The positional RELEASE; `old_flag` (e.g. --data) is its deprecated spelling, and
    `revision_flag` keeps the deprecated --data-revision (now RELEASE@REVISION)."""
    if old_flag is None:
        p.add_argument("release", metavar="RELEASE", help=help)
    else:  # optional only while the old spelling lives: `release` checks it was given
        p.add_argument("release", metavar="RELEASE", nargs="?", default=argparse.SUPPRESS, help=help)
        add_deprecated(p, old_flag, "the positional RELEASE", dest="release")
    if revision_flag:
        add_deprecated(p, "--data-revision", "RELEASE@REVISION", dest="data_revision")


def release(args: argparse.Namespace) -> str:
    """The RELEASE a verb reads, with a deprecated --data-revision folded in as `@REVISION`."""
    from dataigm.core.errors import DataIGMError

    value = getattr(args, "release", None)
    if not value:
        raise DataIGMError("give the RELEASE to read: a release folder or a Hub id ORG/NAME[@REVISION]")
    revision = getattr(args, "data_revision", None)
    if revision:
        from dataigm.hub.loading import split_source

        name, at = split_source(value)
        if at and at != revision:
            raise DataIGMError(f"{value} names revision {at}, --data-revision says {revision}: give one")
        value = f"{name}@{revision}"
    return value


# -- curation (build and curate) -------------------------------------------------------------------


def add_curation_args(p: argparse.ArgumentParser, resume_note: str) -> None:
    """The curation flags, the same in every verb that curates. No defaults here: a build takes
    CurationOptions' defaults, a re-curation keeps the build's (`resume_note` says which)."""
    from dataigm.core.curation import CurationOptions
    from dataigm.core.defaults import default_model

    d = CurationOptions()
    c = p.add_argument_group(f"curation ({resume_note})")
    c.add_argument("--judge", action="append", metavar="ARTIFACT",
                   help="a trained judge (artifact folder or Hub id ORG/NAME[@REVISION]) that checks concept "
                   "presence for its target concept or category (repeatable; default: CLIP zero-shot)")
    c.add_argument("--clip", metavar="PATH_OR_ID", help="CLIP model for zero-shot presence checks "
                   f"(default: {default_model('curation-clip')}; smoke: the built-in tiny CLIP)")
    c.add_argument("--clip-revision", help="the --clip model's revision")
    c.add_argument("--clip-threshold", type=float, help=f"zero-shot presence threshold (default {d.clip_threshold})")
    c.add_argument("--clip-dtype", choices=DTYPES,
                   help=f"CLIP precision for zero-shot checks and CLIP judges (default {d.clip_dtype}: bf16 where "
                   "the hardware computes it natively, else fp32; the plan records the choice)")
    c.add_argument("--nudenet-threshold", type=float, help=f"NudeNet score threshold (default {d.nudenet_threshold})")
    c.add_argument("--person-check", metavar="WEIGHTS",
                   help="YOLO person detector for nudity retain images: a shipped ultralytics yaml name, a "
                   ".safetensors state dict, or a .pt checkpoint (opened with the restricted weights-only loader)")


def curation_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The curation options given on the command line besides --judge (CurationOptions field ->
    value), checked."""
    from dataigm.cli.checks import in_range

    in_range(args, "clip_threshold", 0, 1)
    in_range(args, "nudenet_threshold", 0, 1)
    given = {"clip": args.clip, "clip_revision": args.clip_revision, "clip_threshold": args.clip_threshold,
             "clip_dtype": args.clip_dtype, "nudenet_threshold": args.nudenet_threshold,
             "person_check": args.person_check}
    return {k: v for k, v in given.items() if v is not None}


# -- engines (build and eval run) ------------------------------------------------------------------


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """Where a build's (or an evaluation's) ranks run: this process, or a datatrove executor."""
    from dataigm.core.layout import LOGS

    e = p.add_argument_group("engine (datatrove executors, the [cluster] extra)")
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
    e.add_argument("--logging-dir", help=f"datatrove logs (default DIR/{LOGS})")


def engine_options(args: argparse.Namespace):
    """EngineOptions from the engine flags."""
    from dataigm.engines import EngineOptions

    return EngineOptions(
        engine=args.engine, tasks=args.tasks, workers=args.workers,
        gpus=args.gpus.split(",") if args.gpus else None, partition=args.partition, time=args.time,
        gpus_per_task=args.gpus_per_task, cpus_per_task=args.cpus_per_task, mem_per_cpu_gb=args.mem_per_cpu_gb,
        env_command=args.env_command, venv_path=args.venv, logging_dir=args.logging_dir)
