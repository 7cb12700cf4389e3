"""`dataigm build`: prepare the plan, run every shard on the chosen engine, pack once."""

from __future__ import annotations

import time
from typing import Any

from dataigm.plan import BuildConfig


def build(cfg: BuildConfig, progress: bool = True) -> dict[str, Any]:
    """Build (or resume) the release folder `cfg.out` in this process."""
    from dataigm.pack import pack
    from dataigm.stages import prepare, run_rank

    started = time.time()
    cfg.settings.check()
    prepare(cfg)
    stats = run_rank(cfg.out, 0, 1, progress=progress)
    manifest = pack(cfg.out, progress=progress)
    return {"seconds": round(time.time() - started, 1), **stats, "configs": manifest["configs"]}
