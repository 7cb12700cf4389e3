"""Calling the Hub: retries on 429 and 5xx answers with exponential backoff, and one line for
every other failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get

RETRIES = 5
T = TypeVar("T")
log = get("hub")


def status_of(exc: Exception) -> int | None:
    """The HTTP status of a Hub error (None when it carries no response)."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def hub_call(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
    """Call the Hub; retry 429 and 5xx with backoff (0.5 s, 1 s, 2 s, ...); other failures become
    one line naming `what`."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    for attempt in range(RETRIES):
        try:
            return fn(*args, **kwargs)
        except (RepositoryNotFoundError, EntryNotFoundError, RevisionNotFoundError):
            raise  # answers the callers handle
        except HfHubHTTPError as exc:
            status = status_of(exc)
            if status is not None and (status == 429 or status >= 500) and attempt < RETRIES - 1:
                log.warning("%s: HTTP %s, retrying (%d/%d)", what, status, attempt + 1, RETRIES - 1)
                time.sleep(0.5 * 2**attempt)
                continue
            if status == 412:
                raise
            raise DataIGMError(f"{what}: HTTP {status or '?'} ({exc.server_message or str(exc).splitlines()[0]})"
                               ) from None
        except OfflineModeIsEnabled:
            raise DataIGMError(f"{what}: HF_HUB_OFFLINE is set; unset it to reach the Hub") from None
        except (OSError, ConnectionError) as exc:
            if attempt < RETRIES - 1:
                time.sleep(0.5 * 2**attempt)
                continue
            raise DataIGMError(f"{what}: cannot reach the Hub ({type(exc).__name__}: {exc})") from None
    raise AssertionError("unreachable")
