"""The garbage collector of a process that does nothing but serve.

CPython's cyclic collector stops the event loop while it runs, and every
stream the process carries waits for it. Under the streaming bench (1,000
streams, 5,000 tokens/s) a server with the default thresholds ran about a
dozen full collections, each traversing every live object: 0.4-0.7 s per
pause (measured with ``gc.callbacks``), which every stream then carried as
lateness. Two settings, for processes that serve (``sage serve``, the
bench's servers), not for the library, whose embedding application owns
its own collector:

- ``gc.freeze()`` before serving: what start-up built (modules, classes,
  settings) lives as long as the process, so no collection needs to look
  at it again.
- Higher thresholds: a young collection every 50,000 net allocations
  instead of 700, so the older generations, and a full collection, come
  about seventy times less often. At 250 streams three rounds ran no full
  collection at all (four, up to 152 ms, with the default thresholds). Cyclic garbage
  still goes, only later; reference counting frees everything else at once.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)
"""Young-generation allocations, then collections of each generation before
the next one up is examined."""


def tune_for_serving() -> None:
    """Freeze what start-up built and raise the collector's thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
