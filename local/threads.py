"""Many callers at once: `run_together` starts a thread a caller and waits for them all (the
chaos workload's clients, the contention benchmark's writers, the tests' concurrent calls)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def run_together(target: Callable[[int], object], count: int, *, daemon: bool = False) -> float:
    """`target(0)` ... `target(count - 1)`, each in a thread of its own, all started, then all
    joined; the seconds from the first start to the last join."""
    threads = [threading.Thread(target=target, args=(i,), daemon=daemon) for i in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began
