"""Running the build stages on an existing engine: datatrove's local, Slurm and Ray executors.

The stages are datatrove pipeline steps that call the same engine-agnostic functions as a plain
`dataigm build`: rank r of N runs plan shards r, r+N, ...; packing runs once, after every rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from datatrove.pipeline.base import PipelineStep

from dataigm.errors import DataIGMError

ENGINES = ("inline", "local", "slurm", "ray")


class GenerateShards(PipelineStep):
    """Generate and curate the plan shards of one rank (skipping complete ones)."""

    name = "dataigm generate+curate"
    type = "🎨 GENERATE"

    def __init__(self, out: str, gpus: list[str] | None = None):
        super().__init__()
        self.out, self.gpus = out, gpus

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        if self.gpus:  # one worker per GPU on a local machine
            os.environ["CUDA_VISIBLE_DEVICES"] = self.gpus[rank % len(self.gpus)]
        from dataigm.stages import run_rank

        stats = run_rank(self.out, rank, world_size, progress=False)
        self.stat_update("shards_generated", value=stats["generated"])
        self.stat_update("shards_skipped", value=stats["skipped"])


class PackRelease(PipelineStep):
    """Pack the release folder; refuses (fails) while any shard of the plan is missing."""

    name = "dataigm pack"
    type = "📦 PACK"

    def __init__(self, out: str):
        super().__init__()
        self.out = out

    def run(self, data: Any = None, rank: int = 0, world_size: int = 1) -> None:
        from dataigm.pack import pack

        pack(self.out, progress=False)


@dataclass
class EngineOptions:
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

    def logs(self, out: str, stage: str) -> str:
        base = self.logging_dir or f"{out.rstrip('/')}/_build/logs"
        return f"{base}/{stage}-{self.tasks}"


def run_engine(out: str, opts: EngineOptions) -> dict[str, Any]:
    """Run every rank on the chosen engine, then pack. Slurm returns after submitting both jobs."""
    if opts.engine not in ENGINES:
        from dataigm.errors import UnknownNameError

        raise UnknownNameError("engine", opts.engine, ENGINES)
    if opts.engine == "local":
        from datatrove.executor import LocalPipelineExecutor

        LocalPipelineExecutor([GenerateShards(out, opts.gpus)], tasks=opts.tasks, workers=opts.workers,
                              logging_dir=opts.logs(out, "generate")).run()
    elif opts.engine == "ray":
        import ray
        from datatrove.executor import RayPipelineExecutor

        if not ray.is_initialized():
            ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
        RayPipelineExecutor([GenerateShards(out)], tasks=opts.tasks, workers=opts.workers,
                            logging_dir=opts.logs(out, "generate"), cpus_per_task=opts.cpus_per_task,
                            gpus_per_task=opts.gpus_per_task, mem_per_cpu_gb=opts.mem_per_cpu_gb).run()
    elif opts.engine == "slurm":
        return submit_slurm(out, opts)
    from dataigm.pack import pack

    pack(out, progress=False)
    return {"engine": opts.engine, "tasks": opts.tasks, "packed": True}


def slurm_executors(out: str, opts: EngineOptions):
    from datatrove.executor import SlurmPipelineExecutor

    if not opts.partition:
        raise DataIGMError("--engine slurm needs --partition")
    venv = opts.venv_path
    if venv and os.path.isdir(venv):  # a venv folder: datatrove sources its activate script
        venv = os.path.join(os.path.abspath(venv), "bin", "activate")
    common = dict(time=opts.time, partition=opts.partition, env_command=opts.env_command,
                  venv_path=venv, sbatch_args=opts.sbatch_args or None, requeue=True,
                  mem_per_cpu_gb=opts.mem_per_cpu_gb, cpus_per_task=opts.cpus_per_task)
    generate = SlurmPipelineExecutor(
        [GenerateShards(out)], tasks=opts.tasks, workers=opts.workers, gpus_per_task=opts.gpus_per_task,
        job_name=f"{opts.job_name}-generate", logging_dir=opts.logs(out, "generate"),
        slurm_logs_folder=f"{opts.logs(out, 'generate')}/slurm", **common)
    packer = SlurmPipelineExecutor(
        [PackRelease(out)], tasks=1, job_name=f"{opts.job_name}-pack", depends=generate,
        logging_dir=opts.logs(out, "pack"), slurm_logs_folder=f"{opts.logs(out, 'pack')}/slurm", **common)
    return generate, packer


def submit_slurm(out: str, opts: EngineOptions) -> dict[str, Any]:
    generate, packer = slurm_executors(out, opts)
    packer.run()  # submits the generation job array first (a dependency), then the pack job
    return {"engine": "slurm", "tasks": opts.tasks, "generate_job": generate.job_id, "pack_job": packer.job_id,
            "packed": False}
