"""Whether the Hugging Face Hub can be asked for files right now, and whether a model named on
the command line can be had from here (a local folder, or a Hub id cached or reachable).

Without a network, huggingface_hub retries every file request with backoff (about 25 s per file),
so an offline run that merely *tries* an optional Hub model stalls for minutes before it fails or
falls back to the cache. One quick connection to the endpoint settles it for the whole process.
"""

from __future__ import annotations

import os
import re
import socket
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

CONNECT_TIMEOUT_S = 3.0


def offline_flag_set() -> bool:
    """Whether HF_HUB_OFFLINE asks for no Hub access."""
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("0", "", "false", "no", "off")


@cache
def _unreachable(endpoint: str) -> str | None:
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        return f"cannot reach {endpoint} ({type(exc).__name__})"
    return None


def hub_unavailable() -> str | None:
    """Why the Hub cannot be asked (HF_HUB_OFFLINE, or its endpoint does not answer), else None."""
    if offline_flag_set():
        return "HF_HUB_OFFLINE is set"
    from huggingface_hub import constants

    return _unreachable(constants.ENDPOINT)


HUB_ID_RE = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")


def parse_hub_id(spec: str) -> tuple[str, str | None] | None:
    """'org/name@v1.0.0' -> ('org/name', 'v1.0.0'); None when `spec` is not a well-formed Hub id
    ORG/NAME[@REVISION] (a bare name, an absolute or dotted path)."""
    repo, _, revision = spec.partition("@")
    if not HUB_ID_RE.fullmatch(repo):
        return None
    return repo, revision or None


def check_repo_id(repo: str, flag: str = "--repo") -> str:
    """A Hub repo id a verb writes to, checked before anything is written: ORG/NAME with the Hub's
    own rules (letters, digits, '-', '_', '.'; no leading or trailing '-' or '.', no '--' or '..',
    at most 96 characters, not ending in .git)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    from dataigm.core.errors import DataIGMError

    if not isinstance(repo, str) or repo.count("/") != 1:
        raise DataIGMError(f"{flag} {repo!r}: expected ORG/NAME (a bare name only resolves to a local folder)")
    try:
        validate_repo_id(repo)
    except HFValidationError as exc:
        raise DataIGMError(f"{flag} {repo!r}: not a valid Hub repo id ({str(exc).split(':')[0]})") from None
    return repo


def require_model(model_id: str, revision: str | None, flag: str, what: str = "CLIP model",
                  probe: str = "config.json") -> bool:
    """Fail fast, before any work and before importing transformers, when `model_id` (given with
    `flag`) cannot be had from here: not a local folder and not a well-formed Hub id (a missing
    path, a file), or a Hub id that is neither reachable (HF_HUB_OFFLINE, no network) nor in the
    local cache (its `probe` file). Returns whether to load from the cache only (so an unreachable
    Hub costs no retries)."""
    from dataigm.core.errors import DataIGMError

    path = Path(model_id)
    if path.is_dir():
        return False
    if path.exists() or parse_hub_id(model_id) is None:
        found = "a file, not a folder" if path.exists() else "no such folder, and not a Hub id ORG/NAME"
        raise DataIGMError(f"{flag} {model_id}: cannot load the {what}: {found}")
    why = hub_unavailable()
    if why is None:
        return False
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(model_id, probe, revision=revision), str):
        raise DataIGMError(f"cannot load {what} {model_id!r}: not on disk and {why} "
                           f"(pass {flag} PATH to a local folder)")
    return True
