"""Where plug-ins live besides the installed packages: folders listed in DATAIGM_PLUGINS
(os.pathsep-separated). Each may hold builder and detector modules (`*.py`) and a `taxonomy.yaml`."""

from __future__ import annotations

import os
from pathlib import Path

from dataigm.core.errors import DataIGMError

PLUGINS_ENV = "DATAIGM_PLUGINS"


def plugin_dirs() -> tuple[Path, ...]:
    """Extra plug-in folders from DATAIGM_PLUGINS (each must exist)."""
    dirs = []
    for part in os.environ.get(PLUGINS_ENV, "").split(os.pathsep):
        if not part:
            continue
        path = Path(part).resolve()
        if not path.is_dir():
            raise DataIGMError(f"{PLUGINS_ENV}: {part!r} is not a folder")
        dirs.append(path)
    return tuple(dirs)
