"""dataigm's log lines go through the standard `logging` module under the "dataigm" logger, so a
Slurm or Ray task log shows one line per shard; the CLI sets the level (--quiet / --verbose)."""

from __future__ import annotations

import logging
import sys

LOGGER = "dataigm"


def get(name: str = "") -> logging.Logger:
    """A logger under the "dataigm" logger (what --quiet / --verbose control)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


class _OneLine(logging.Formatter):
    """Log lines echo names from data: one printable line each (no terminal escapes)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        from dataigm.core.text import clean_line

        return clean_line(super().formatMessage(record))


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of each record (tests and tools replace it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure(verbosity: int = 0) -> None:
    """-1: warnings only (--quiet); 0: info; 1: debug (--verbose). Idempotent."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger(LOGGER)
    root.setLevel(level)
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(_OneLine("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
    root.propagate = False


def quiet_progress() -> None:
    """--no-progress and --quiet: no progress bar from the libraries either (huggingface_hub's
    downloads, transformers' "Loading weights", datasets, diffusers), in this process and in the
    workers it starts. Libraries imported later read the environment; those already imported are
    told directly."""
    import os

    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    for name in ("transformers", "diffusers"):
        if name in sys.modules:
            import importlib

            importlib.import_module(f"{name}.utils.logging").disable_progress_bar()
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()
