"""A CPU-time sampling profiler for a bench child process, from the stdlib.

``BENCH_PROFILE=<dir>`` in the environment of ``bench.server`` or
``bench.relay`` starts it (``profile_from_env``), writing ``<dir>/<name>.txt``: a
profiling timer (``ITIMER_PROF``, which runs on the process's CPU time, not
the wall clock) raises ``SIGPROF`` every ``interval_s`` of CPU, and the
handler, which Python runs in the main thread at the next bytecode, counts
per function the samples it was running in (self) and the samples it was
anywhere on the stack (total). A daemon thread rewrites the top functions
by each count to the file every ``write_every_s`` (uvicorn re-raises
SIGTERM after its shutdown, so the process ends without running exit hooks).

Why not the alternatives: cProfile times every call, which on an asyncio
server doubles the cost of the small per-token functions it is meant to
show; a thread reading ``sys._current_frames`` only gets the GIL when the
main thread releases it, so it over-counts whatever makes a syscall (it put
``uuid4``'s ``getrandom`` at 6 % of the server's time) and counts idle time
in the loop's ``epoll`` as work; py-spy is not installed in the shared
environment. Idle time costs no CPU here, so it takes no samples: every
sample is work. Work done in C between two bytecodes (uvloop's own I/O,
httptools' parsing) is counted against the Python code that runs next.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

Key = tuple[str, int, str]


class Sampler:
    def __init__(self, path: Path, interval_s: float = 0.001, write_every_s: float = 5.0) -> None:
        self.path = path
        self.interval_s = interval_s
        self.write_every_s = write_every_s
        self.samples = 0
        self.self_counts: Counter[Key] = Counter()
        self.total_counts: Counter[Key] = Counter()
        self.stacks: Counter[tuple[Key, ...]] = Counter()
        """Whole stacks, root first, for a flame graph (``<name>.stacks``)."""
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="bench-sampler", daemon=True)

    def start(self) -> None:
        """Call from the main thread (signal handlers can only be set there)."""
        signal.signal(signal.SIGPROF, self._on_signal)
        signal.setitimer(signal.ITIMER_PROF, self.interval_s, self.interval_s)
        self._writer.start()

    def stop(self) -> None:
        """Stop sampling and writing (for tests: a server just exits)."""
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        self._stop.set()
        self._writer.join()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        stack: list[Key] = []
        while frame is not None:
            code = frame.f_code
            stack.append((code.co_filename, code.co_firstlineno, code.co_name))
            frame = frame.f_back
        if stack:
            self.self_counts[stack[0]] += 1
        for key in set(stack):
            self.total_counts[key] += 1
        stack.reverse()
        self.stacks[tuple(stack)] += 1

    def _write_loop(self) -> None:
        while not self._stop.wait(self.write_every_s):
            self.path.write_text(f"# written {time.strftime('%H:%M:%S')}\n" + self.report())
            self.path.with_suffix(".stacks").write_text(self.collapsed())

    def report(self, top: int = 80) -> str:
        samples = max(self.samples, 1)
        lines = [f"{self.samples} samples, one per {self.interval_s * 1000:g} ms of CPU"]
        for title, counter in (("self", self.self_counts), ("total", self.total_counts)):
            counts = Counter(dict(counter))  # a copy: the handler goes on counting
            lines.append(f"\n== by {title} ==")
            for (filename, lineno, name), n in counts.most_common(top):
                lines.append(
                    f"{100 * n / samples:6.2f}% {n:7d}  {name}  {_short(filename)}:{lineno}"
                )
        return "\n".join(lines) + "\n"

    def collapsed(self) -> str:
        """One line per distinct stack: ``root;…;leaf count`` (flamegraph.pl's input)."""
        stacks = dict(self.stacks)
        return "".join(
            ";".join(f"{name} {_short(filename)}:{line}" for filename, line, name in stack)
            + f" {n}\n"
            for stack, n in stacks.items()
        )


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/sagents/", "/app/", "/bench/", "/python3.11/"):
        at = filename.find(marker)
        if at >= 0:
            return filename[at:].lstrip("/")
    return filename


def profile_from_env(name: str) -> Sampler | None:
    """Start a sampler writing ``$BENCH_PROFILE/<name>.txt`` if that is set."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        return None
    sampler = Sampler(Path(folder) / f"{name}.txt")
    sampler.start()
    return sampler
