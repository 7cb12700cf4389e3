"""Engines that run the build's ranks: this process (inline), or datatrove's local, Slurm and Ray
executors (the [cluster] extra), imported only when one is chosen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError, UnknownNameError
from dataigm.core.extras import require

ENGINES = ("inline", "local", "slurm", "ray")


@dataclass
class EngineOptions:
    """Where and how the ranks run: engine, task count, and the executor's resources."""

    engine: str = "inline"
    tasks: int = 1
    workers: int = -1
    gpus: list[str] | None = None  # local: CUDA_VISIBLE_DEVICES value per worker
    partition: str | None = None
    time: str = "24:00:00"
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 4
    env_command: str | None = None
    venv_path: str | None = None
    job_name: str = "dataigm"
    sbatch_args: dict[str, Any] = field(default_factory=dict)
    logging_dir: str | None = None

    def check(self) -> EngineOptions:
        """Before any work: a known engine, and what it needs to start (the [cluster] extra beyond
        inline; Slurm: a partition)."""
        if self.engine not in ENGINES:
            raise UnknownNameError("engine", self.engine, ENGINES)
        if self.engine != "inline":
            require("cluster", f"--engine {self.engine}")
        if self.engine == "slurm" and not self.partition:
            raise DataIGMError("--engine slurm needs --partition")
        return self

    def logs(self, out: str, stage: str) -> str:
        """datatrove's logging folder of `stage` (default: inside the release's work area)."""
        return layout.engine_logs(stage, self.tasks, self.logging_dir or f"{out.rstrip('/')}/{layout.LOGS}")


def run_engine(out: str, opts: EngineOptions, rank_fn: Callable[..., dict[str, Any]],
               finish_fn: Callable[[str], Any], finish: str = "pack") -> dict[str, Any]:
    """Run `rank_fn(out, rank, world)` for every rank on the chosen engine, then `finish_fn(out)`
    once (named `finish` in step names, job names and log folders: pack a release, summarise an
    evaluation). Slurm returns after submitting the job array and the dependent finishing job."""
    opts.check()
    from dataigm.engines.steps import run_engine as run

    return run(out, opts, rank_fn, finish_fn, finish)
