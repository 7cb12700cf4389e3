"""Optional extras: the core (load, prompts, info) needs light dependencies only; building,
judging, cluster engines, evaluation and reports each need an extra. A missing one is one line."""

from __future__ import annotations

import importlib.util

from dataigm.core.errors import DataIGMError

# extra -> (modules that prove it is installed, what it is for)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "build": (("torch", "diffusers", "transformers", "safetensors"), "image generation"),
    "judges": (("nudenet", "ultralytics", "sklearn", "torch", "transformers"), "detectors and judges"),
    "cluster": (("datatrove", "ray"), "the local/Slurm/Ray engines"),
    "eval": (("torchmetrics", "peft", "scipy", "torch", "diffusers"), "evaluation"),
    "report": (("matplotlib",), "reports and plots"),
}


class MissingExtraError(DataIGMError):
    """A feature's optional dependencies are not installed."""


def require(extra: str, feature: str) -> None:
    """Raise one clear line naming the extra when any of its modules is missing."""
    modules, purpose = EXTRAS[extra]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f"{feature} needs the [{extra}] extra ({purpose}; missing: {', '.join(missing)}): "
            f"pip install 'dataigm[{extra}]'")
