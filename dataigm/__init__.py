"""dataigm: build, curate, judge and publish DataIGM, the dataset for machine unlearning in image
generation models. `dataigm.load(concept, source, revision)` loads a release."""

from __future__ import annotations

from typing import Any

__all__ = ["load"]


def __getattr__(name: str) -> Any:  # lazy: `import dataigm` stays fast for the CLI
    if name == "load":
        from dataigm.hub.loading import load

        return load
    raise AttributeError(f"module 'dataigm' has no attribute {name!r}")
