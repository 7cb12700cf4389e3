"""dataigm's log lines go through the standard `logging` module under the "dataigm" logger, so a
Slurm or Ray task log shows one line per shard; the CLI sets the level (--quiet / --verbose)."""

from __future__ import annotations

import logging
import sys

LOGGER = "dataigm"


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


def configure(verbosity: int = 0) -> None:
    """-1: warnings only (--quiet); 0: info; 1: debug (--verbose). Idempotent."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    root = logging.getLogger(LOGGER)
    root.setLevel(level)
    if not any(getattr(h, "_dataigm", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._dataigm = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
