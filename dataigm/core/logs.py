"""dataigm's log lines go through the standard `logging` module under the "dataigm" logger, so a
Slurm or Ray task log shows one line per shard; the CLI sets the level (--quiet / --verbose)."""

from __future__ import annotations

import logging
import sys

LOGGER = "dataigm"


def get(name: str = "") -> logging.Logger:
    """A logger under the "dataigm" logger (what --quiet / --verbose control)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


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
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
    root.propagate = False
