"""An ordered, bounded ``map`` over a pool of threads.

Threads suit our work because what is slow in it releases the GIL: file reads and writes,
Pillow's decoders and encoders, zlib and CRC-32C. Results come back in input order, so the
output is deterministic, and only a few items are in flight at once, so memory stays flat
however many there are.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["default_workers", "ordered_map"]

_T = TypeVar("_T")
_R = TypeVar("_R")


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[_T], _R], items: Iterable[_T], workers: int) -> Iterator[_R]:
    """``map(fn, items)`` on ``workers`` threads, in input order, with at most
    ``4 * workers`` items in flight. One worker runs everything in the calling thread.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    # Imported here: one worker, the default for stored bytes, needs no pool at all.
    from concurrent.futures import ThreadPoolExecutor

    source = iter(items)
    with ThreadPoolExecutor(workers, thread_name_prefix="tfr") as pool:
        pending: deque[Future[_R]] = deque(pool.submit(fn, i) for i in islice(source, 4 * workers))
        try:
            while pending:
                result = pending.popleft().result()
                for item in islice(source, 1):
                    pending.append(pool.submit(fn, item))
                yield result
        finally:
            for future in pending:
                future.cancel()
