"""Crash points for fault-injection tests (RELIABILITY #1): the process kills itself (SIGKILL) at a named point.

Armed only by the environment of a process a test starts: PMS_CRASH_AT="<name>" or "<name>:<n>" (the n-th
time the point is reached). Unarmed, a crash point costs one comparison.
"""

from __future__ import annotations

import os
import signal

_name, _, _nth = os.environ.get("PMS_CRASH_AT", "").partition(":")
_hits = {"count": 0}


def crash_point(name: str) -> None:
    if not _name or name != _name:
        return
    _hits["count"] += 1
    if _hits["count"] >= int(_nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
