"""Calling the Hub: one retry layer, bounded in time, and one line for every failure.

huggingface_hub retries 5xx and 429 answers inside some of its calls (commits, uploads, file
downloads: 6 requests and ~23 s of waiting each), and dataigm retried around them: against a Hub
answering 500, one publish commit cost 30 requests and about 2.5 minutes. Here the library's own
retries are switched off for the duration of each call, and dataigm's are the only layer: at most
`ATTEMPTS` requests per call, waiting 0.5, 1, 2 and 4 s between them (`RETRY_BOUND_S` in all),
said in the first retry line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get

ATTEMPTS = 5
FIRST_WAIT_S = 0.5
RETRY_BOUND_S = sum(FIRST_WAIT_S * 2**k for k in range(ATTEMPTS - 1))  # 7.5 s of waiting at most
T = TypeVar("T")
log = get("hub")


def status_of(exc: Exception) -> int | None:
    """The HTTP status of a huggingface_hub error (None: no response)."""
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


@contextmanager
def library_retries_off() -> Iterator[None]:
    """huggingface_hub's own retry loop (utils._http._http_backoff_base, which http_backoff and the
    download and commit code use) with no retries while the block runs. Where a release of the
    library no longer has it, nothing changes (tests/test_faults counts the requests)."""
    try:
        from huggingface_hub.utils import _http

        base = _http._http_backoff_base
    except (ImportError, AttributeError):
        yield
        return

    def without_retries(*args: Any, **kwargs: Any):
        kwargs["max_retries"] = 0
        return base(*args, **kwargs)

    _http._http_backoff_base = without_retries
    try:
        yield
    finally:
        _http._http_backoff_base = base


def _retry(what: str, why: str, attempt: int, started: float) -> None:
    wait = FIRST_WAIT_S * 2**attempt
    bound = f" (at most {ATTEMPTS} attempts, {RETRY_BOUND_S:g} s of waiting in all)" if attempt == 0 else ""
    log.warning("%s: %s; retrying in %g s (%d/%d)%s", what, why, wait, attempt + 1, ATTEMPTS - 1, bound)
    time.sleep(wait)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Lost connections and timeouts, as the HTTP client huggingface_hub uses raises them."""
    found: list[type[BaseException]] = [OSError, ConnectionError]
    for module in ("httpx2", "httpx"):
        try:
            found.append(__import__(module).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def hub_call(fn: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
    """Call the Hub: 429 and 5xx answers and lost connections are retried (the only retry layer,
    bounded); other failures become one line naming `what`. Not-found answers and 412 (a stale
    parent commit) are raised as they are, for the callers that handle them."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    transport = _transport_errors()
    started = time.monotonic()
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        spent = f"after {attempt + 1} attempt(s) in {time.monotonic() - started:.1f} s"
        try:
            with library_retries_off():
                return fn(*args, **kwargs)
        except (RepositoryNotFoundError, EntryNotFoundError, RevisionNotFoundError):
            raise  # answers the callers handle
        except HfHubHTTPError as exc:
            status = status_of(exc)
            if status is not None and (status == 429 or status >= 500) and not last:
                _retry(what, f"HTTP {status}", attempt, started)
                continue
            if status == 412:
                raise
            message = exc.server_message or str(exc).splitlines()[0]
            raise DataIGMError(f"{what}: HTTP {status or '?'} ({message}), {spent}") from None
        except OfflineModeIsEnabled:
            raise DataIGMError(f"{what}: HF_HUB_OFFLINE is set; unset it to reach the Hub") from None
        except transport as exc:
            if not last:
                _retry(what, f"cannot reach the Hub ({type(exc).__name__})", attempt, started)
                continue
            raise DataIGMError(f"{what}: cannot reach the Hub ({type(exc).__name__}: {exc}), {spent}") from None
    raise AssertionError("unreachable")
