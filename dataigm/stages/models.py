"""Loading text-to-image pipelines through diffusers' `from_pretrained`, with provenance."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError
from dataigm.core.settings import SCHEDULERS, GenerationSettings

TORCH_DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass
class LoadedPipeline:
    """A loaded diffusers pipeline and what every row records about it."""

    pipe: Any
    model_id: str
    revision: str
    pipeline_class: str
    scheduler: str
    scheduler_config: str
    device: str
    dtype: str
    accelerations: list[str]
    safety_checker: str


def _missing_model(settings: GenerationSettings, why: str) -> DataIGMError:
    from dataigm.core.hub_access import hub_unavailable, offline_flag_set

    if offline_flag_set():
        hint = "HF_HUB_OFFLINE is set, so only models already in the Hugging Face cache load"
    elif unavailable := hub_unavailable():
        hint = f"{unavailable}, so only models already in the Hugging Face cache load"
    else:
        hint = "no such repo or revision, or no access to it"
    rev = f" at revision {settings.revision!r}" if settings.revision else ""
    return DataIGMError(
        f"cannot load model {settings.model!r}{rev}: {why}. Pass --model PATH to a local "
        f"diffusers folder (or --preset smoke for the built-in tiny model); {hint}.")


def _local_index(settings: GenerationSettings) -> dict[str, Any]:
    """model_index.json of a local diffusers folder."""
    index = Path(settings.model) / "model_index.json"
    if not index.exists():
        raise _missing_model(settings, f"{index} does not exist (not a diffusers folder)")
    try:
        return json.loads(index.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _missing_model(settings, f"{index} is not valid JSON ({exc})") from None


def read_model_index(settings: GenerationSettings) -> tuple[dict[str, Any], str]:
    """model_index.json of the model and its resolved revision (commit sha, or 'local:<hash>')."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    from dataigm.core.hub_access import hub_unavailable, parse_hub_id

    local = Path(settings.model)
    if local.is_dir():
        from dataigm.core.fingerprint import folder_digest

        return _local_index(settings), f"local:{folder_digest(local)}"
    if local.exists() or parse_hub_id(settings.model) is None:
        raise _missing_model(settings, "a file, not a diffusers folder" if local.exists()
                             else "no such folder, and not a Hub id ORG/NAME")
    try:
        path = hf_hub_download(settings.model, "model_index.json", revision=settings.revision,
                               local_files_only=hub_unavailable() is not None)
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        raise _missing_model(settings, type(exc).__name__) from None
    match = re.search(r"snapshots/([0-9a-f]{40})/", path)
    return json.loads(Path(path).read_text()), match.group(1) if match else (settings.revision or "main")


def check_model(settings: GenerationSettings) -> None:
    """Before any work: `settings.model` is a pipeline this machine can load: a local diffusers
    folder (its model_index.json read; the content digest waits for the plan), or a Hub id whose
    model_index.json is in the cache or on the reachable Hub."""
    if Path(settings.model).is_dir():
        _local_index(settings)
    else:
        read_model_index(settings)


def quiet_libraries() -> None:
    """Keep diffusers/transformers chatter (loading bars, CLIP truncation notes) off the console;
    dataigm's own progress bars say what is happening."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()


def load_pipeline(settings: GenerationSettings, pinned: str | None = None) -> LoadedPipeline:
    """Load `settings.model` with AutoPipelineForText2Image and apply the settings.

    `pinned`: the revision the plan resolved (Hub commit or local content digest); a model whose
    weights no longer match it is refused, so one build never mixes two sets of weights."""
    import torch
    from diffusers import AutoPipelineForText2Image

    quiet_libraries()
    cuda = torch.cuda.is_available()
    settings.check(cuda_available=cuda)
    import dataclasses

    if pinned is not None and re.fullmatch(r"[0-9a-f]{40}", pinned) and not Path(settings.model).is_dir():
        settings = dataclasses.replace(settings, revision=pinned)  # every rank loads the commit the plan pinned
    index, revision = read_model_index(settings)
    if pinned is not None and revision != pinned:
        raise DataIGMError(f"model {settings.model!r} is now {revision}, but this build was planned with {pinned}: "
                           "its weights changed; rebuild into a new --out folder")
    device = settings.resolved_device(cuda)
    dtype = settings.resolved_dtype(device)
    if device == "cpu" and settings.cpu_threads:
        torch.set_num_threads(settings.cpu_threads)
    kwargs: dict[str, Any] = {"dtype": getattr(torch, TORCH_DTYPES[dtype])}
    if not Path(settings.model).is_dir():
        from dataigm.core.hub_access import hub_unavailable

        kwargs["local_files_only"] = hub_unavailable() is not None
        if settings.revision:
            kwargs["revision"] = settings.revision
    has_checker = "safety_checker" in index
    if has_checker and settings.safety_checker == "off":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        pipe = AutoPipelineForText2Image.from_pretrained(settings.model, **kwargs)
    except (OSError, ValueError) as exc:
        raise _missing_model(settings, str(exc).splitlines()[0]) from None
    if settings.safety_checker == "on" and getattr(pipe, "safety_checker", None) is None:
        raise DataIGMError(f"--safety-checker on, but {settings.model!r} ships no safety checker")
    if settings.scheduler != "default":
        import diffusers

        cls = getattr(diffusers, SCHEDULERS[settings.scheduler])
        pipe.scheduler = cls.from_config(pipe.scheduler.config)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    accelerations = ["sdpa"] if hasattr(torch.nn.functional, "scaled_dot_product_attention") else []
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    if device == "cuda" and denoiser is not None:
        denoiser.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        accelerations.append("channels_last")
    if settings.compile and denoiser is not None:
        compiled = torch.compile(denoiser, fullgraph=False)
        if hasattr(pipe, "unet"):
            pipe.unet = compiled
        else:
            pipe.transformer = compiled
        accelerations.append("torch_compile")
    sched_cfg = {k: v for k, v in dict(pipe.scheduler.config).items() if not k.startswith("_")}
    return LoadedPipeline(
        pipe=pipe, model_id=settings.model, revision=revision,
        pipeline_class=type(pipe).__name__, scheduler=type(pipe.scheduler).__name__,
        scheduler_config=json.dumps(sched_cfg, sort_keys=True, default=str),
        device=device, dtype=dtype, accelerations=accelerations,
        safety_checker=settings.safety_checker if has_checker else "absent",
    )


def use_scheduler(loaded: LoadedPipeline, name: str | None, config: str | None) -> None:
    """Give the pipeline the exact scheduler a release row records (class name + config JSON)."""
    if not name or not config:
        return
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None:
        raise DataIGMError(f"the release's scheduler {name!r} is not in this diffusers")
    loaded.pipe.scheduler = cls.from_config(json.loads(config))
    loaded.scheduler, loaded.scheduler_config = name, config
