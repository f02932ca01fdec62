"""Peak memory of a benchmark run: this process alone, or with all its child processes."""

from __future__ import annotations

import contextlib
import threading

import psutil


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` is the maximum seen (bytes)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class TreeRSS:
    """Peak RSS of this process (``driver``) and of it plus all descendants (``tree``), in bytes."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.driver = 0
        self.tree = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        own = self._proc.memory_info().rss
        total = own
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a process may end between listing and reading
                total += child.memory_info().rss
        self.driver = max(self.driver, own)
        self.tree = max(self.tree, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRSS:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
