"""A small closed-loop load generator for the fault tests: threads that request a list of
URLs in turn and record every answer (or connection error) with the phase it started in."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.reliability.procs import get


@dataclass(frozen=True)
class Result:
    phase: str
    kind: str
    status: int  # 0: no answer (connection refused or reset, timeout)
    started: float
    seconds: float
    error: str = ""


@dataclass
class Load:
    base: str
    # kind -> what to request in turn: a path (GET) or (path, body, headers) (POST)
    urls: dict[str, list]
    threads: int = 6
    phase: str = "before"
    results: list[Result] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _run(self, offset: int) -> None:
        plan = [(kind, path) for kind, paths in self.urls.items() for path in paths]
        i = offset
        while not self._stop.is_set():
            kind, target = plan[i % len(plan)]
            path, data, headers = (target, None, None) if isinstance(target, str) else target
            i += 1
            phase, started = self.phase, time.monotonic()
            try:
                status, _ = get(self.base + path, timeout=15, data=data, headers=headers)
                error = ""
            except OSError as exc:
                status, error = 0, f"{exc.__class__.__name__}: {exc}"
            with self._lock:
                self.results.append(
                    Result(phase, kind, status, started, time.monotonic() - started, error)
                )

    def start(self) -> Load:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=30)

    def count(self, *, phase: str | None = None, ok: bool | None = None, kind=None) -> int:
        with self._lock:
            rows = list(self.results)
        return sum(
            1
            for r in rows
            if (phase is None or r.phase == phase)
            and (kind is None or r.kind == kind)
            and (ok is None or (r.status and r.status < 500) == ok)
        )

    def failures(self) -> list[Result]:
        with self._lock:
            return [r for r in self.results if not r.status or r.status >= 500]

    def summary(self) -> str:
        with self._lock:
            rows = list(self.results)
        lines = []
        for phase in dict.fromkeys(r.phase for r in rows):
            mine = [r for r in rows if r.phase == phase]
            statuses = Counter(r.status for r in mine)
            slowest = max(r.seconds for r in mine)
            lines.append(
                f"  {phase:>8}: {len(mine):5d} requests, statuses "
                f"{dict(sorted(statuses.items()))}, slowest {slowest:.2f} s"
            )
        return "\n".join(lines)
