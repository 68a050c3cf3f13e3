"""One deadline for a whole conversation with a cloud: however the endpoint misbehaves, it ends in time.

Per-request timeouts bound a silent endpoint, but not one that answers slowly: a body
that trickles a byte every half second never leaves a read waiting ``--timeout``
seconds, and a token endpoint's own retry policy may wait minutes between tries. So
the audit runs its network part under :func:`deadline`: an interval timer
(``SIGALRM``) that raises :class:`DeadlineExceeded` wherever the process is waiting,
in the SDK's socket reads included. It derives from ``BaseException`` so that no
SDK's ``except Exception`` turns it into something else or retries it.

The timer needs the main thread (where the command line runs); elsewhere the
deadline is not set and only the per-request timeouts apply.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class DeadlineExceeded(BaseException):
    """The deadline passed; ``seconds`` is how long it was."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`DeadlineExceeded` in the block once ``seconds`` have passed (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    started = time.monotonic()

    def ring(_signum: int, _frame: Any) -> None:
        raise DeadlineExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        del started
