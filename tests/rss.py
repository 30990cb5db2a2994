"""The peak resident memory of a process while a test runs."""

from __future__ import annotations

import threading
import time

import psutil


class PeakRss:
    """Samples a process's RSS every few milliseconds in a thread, from
    ``start()`` to ``stop()``; ``growth`` is the peak minus the first sample."""

    def __init__(self, pid: int, interval_s: float = 0.005) -> None:
        self._process = psutil.Process(pid)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.baseline = 0
        self.peak = 0

    def start(self) -> PeakRss:
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.growth

    @property
    def growth(self) -> int:
        return self.peak - self.baseline

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(self._interval_s)
