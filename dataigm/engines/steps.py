"""Ranks as datatrove pipeline steps: the same engine-agnostic rank and finishing functions as a
plain `dataigm build`: rank r of N runs plan shards r, r+N, ...; packing runs once, after every rank.
Inside a datatrove task, dataigm's log lines go to datatrove's logger (loguru), so every task log
shows one line per shard."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from datatrove.pipeline.base import PipelineStep

from dataigm.engines import EngineOptions


class _ToLoguru(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from loguru import logger

        logger.opt(depth=1).log(record.levelname, record.getMessage())


def _log_to_datatrove() -> None:
    from dataigm.core.logs import LOGGER

    root = logging.getLogger(LOGGER)
    root.setLevel(logging.INFO)
    root.propagate = False
    if not any(isinstance(h, _ToLoguru) for h in root.handlers):
        root.addHandler(_ToLoguru())


class RunRanks(PipelineStep):
    """Run one rank of the work planned in `out` with `rank_fn(out, rank, world, progress=False)`
    (a module-level function, pickled by reference for Slurm and Ray)."""

    name = "dataigm ranks"
    type = "🎨 GENERATE"

    def __init__(self, out: str, rank_fn: Callable[..., dict[str, Any]], gpus: list[str] | None = None):
        super().__init__()
        self.out, self.rank_fn, self.gpus = out, rank_fn, gpus

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        """Run one rank (datatrove calls this once per task)."""
        _log_to_datatrove()
        if self.gpus:  # one worker per GPU on a local machine
            os.environ["CUDA_VISIBLE_DEVICES"] = self.gpus[rank % len(self.gpus)]
        stats = self.rank_fn(self.out, rank, world_size, progress=False)
        self.stat_update("shards_generated", value=stats["generated"])
        self.stat_update("shards_skipped", value=stats["skipped"])


class Finish(PipelineStep):
    """Run once after every rank: `finish_fn(out)`, named for what it does (`what`: pack a release,
    summarise an evaluation)."""

    name = "dataigm pack"
    type = "📦 PACK"

    def __init__(self, out: str, finish_fn: Callable[[str], Any], what: str = "pack"):
        super().__init__()
        self.out, self.finish_fn = out, finish_fn
        self.name, self.type = f"dataigm {what}", f"📦 {what.upper()}"

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        """Run the finishing step once every rank is done."""
        _log_to_datatrove()
        self.finish_fn(self.out)


def run_engine(out: str, opts: EngineOptions, rank_fn: Callable[..., dict[str, Any]],
               finish_fn: Callable[[str], Any], finish: str = "pack") -> dict[str, Any]:
    """Run every rank on the chosen engine, then finish. Slurm returns after submitting both jobs."""
    ranks = RunRanks(out, rank_fn, opts.gpus if opts.engine == "local" else None)
    if opts.engine == "local":
        from datatrove.executor import LocalPipelineExecutor

        LocalPipelineExecutor([ranks], tasks=opts.tasks, workers=opts.workers,
                              logging_dir=opts.logs(out, "generate")).run()
    elif opts.engine == "ray":
        # Under `uv run`, Ray would otherwise zip the working folder and start every worker with
        # `uv run` (a fresh environment per worker); workers use this interpreter instead.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        import ray
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
        RayPipelineExecutor([ranks], tasks=opts.tasks, workers=opts.workers,
                            logging_dir=opts.logs(out, "generate"), cpus_per_task=opts.cpus_per_task,
                            gpus_per_task=opts.gpus_per_task, mem_per_cpu_gb=opts.mem_per_cpu_gb).run()
    elif opts.engine == "slurm":
        return submit_slurm(out, opts, ranks, Finish(out, finish_fn, finish))
    finish_fn(out)
    return {"engine": opts.engine, "tasks": opts.tasks, "packed": True}


def slurm_executors(out: str, opts: EngineOptions, ranks: PipelineStep, finish: PipelineStep):
    """The Slurm job array of the ranks and the finishing job that depends on it."""
    from datatrove.executor import SlurmPipelineExecutor

    venv = opts.venv_path
    if venv and os.path.isdir(venv):  # a venv folder: datatrove sources its activate script
        venv = os.path.join(os.path.abspath(venv), "bin", "activate")
    common = dict(time=opts.time, partition=opts.partition, env_command=opts.env_command,
                  venv_path=venv, sbatch_args=opts.sbatch_args or None, requeue=True,
                  mem_per_cpu_gb=opts.mem_per_cpu_gb, cpus_per_task=opts.cpus_per_task)
    generate = SlurmPipelineExecutor(
        [ranks], tasks=opts.tasks, workers=opts.workers, gpus_per_task=opts.gpus_per_task,
        job_name=f"{opts.job_name}-generate", logging_dir=opts.logs(out, "generate"),
        slurm_logs_folder=f"{opts.logs(out, 'generate')}/slurm", **common)
    what = finish.name.removeprefix("dataigm ")
    packer = SlurmPipelineExecutor(
        [finish], tasks=1, job_name=f"{opts.job_name}-{what}", depends=generate,
        logging_dir=opts.logs(out, what), slurm_logs_folder=f"{opts.logs(out, what)}/slurm", **common)
    return generate, packer


def submit_slurm(out: str, opts: EngineOptions, ranks: PipelineStep, finish: PipelineStep) -> dict[str, Any]:
    """Submit the ranks and the dependent finishing job; returns their job ids."""
    generate, packer = slurm_executors(out, opts, ranks, finish)
    packer.run()  # submits the generation job array first (a dependency), then the finishing job
    return {"engine": "slurm", "tasks": opts.tasks, "generate_job": generate.job_id, "pack_job": packer.job_id,
            "packed": False}
