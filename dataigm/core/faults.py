"""Fault injection for the resilience tests: DATAIGM_FAULT=<point>[@<n>] makes the process kill
itself with SIGKILL the n-th time (default 1st) it passes the named point; with
DATAIGM_FAULT_SIGNAL=STOP it stops itself there instead (SIGSTOP: a test holds a writer mid-work,
e.g. holding its folder lock, and lets it go on with SIGCONT). Unset (always, outside the tests),
a point costs one dictionary lookup."""

from __future__ import annotations

import os
import signal

ENV = "DATAIGM_FAULT"
SIGNAL_ENV = "DATAIGM_FAULT_SIGNAL"
_passed: dict[str, int] = {}


def point(name: str) -> None:
    """A named fault point: the process kills itself here when DATAIGM_FAULT names it (the tests)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, count = spec.partition("@")
    if target != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == int(count or 1):
        os.kill(os.getpid(), signal.SIGSTOP if os.environ.get(SIGNAL_ENV) == "STOP" else signal.SIGKILL)
