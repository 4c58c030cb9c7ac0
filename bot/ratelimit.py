"""Per-chat sliding-window limit on questions, so one busy group cannot starve the others.

Over the limit a chat is told once to wait; further questions are dropped silently until
the window has room again (answering every excess message would itself be spam).
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable, Hashable


class Verdict(enum.Enum):
    ALLOW = "allow"
    WARN = "warn"  # first question over the limit: tell the user to wait
    DROP = "drop"  # later ones: ignore


class RateLimiter:
    """At most ``per_window`` allowed questions per key in any ``window`` seconds."""

    def __init__(
        self,
        per_window: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_window < 1:
            raise ValueError("per_window must be at least 1")
        self.per_window = per_window
        self.window = window
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._warned: set[Hashable] = set()
        self._checks = 0

    def check(self, key: Hashable) -> Verdict:
        """Record a question from ``key`` and say whether to answer it."""
        self._checks += 1
        if self._checks % 1024 == 0:
            self.prune()
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.per_window:
            hits.append(now)
            self._warned.discard(key)
            return Verdict.ALLOW
        if key in self._warned:
            return Verdict.DROP
        self._warned.add(key)
        return Verdict.WARN

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` may ask again (0 when it may now)."""
        hits = self._hits.get(key)
        if not hits or len(hits) < self.per_window:
            return 0.0
        return max(0.0, hits[0] + self.window - self._clock())

    def prune(self) -> None:
        """Forget chats with no recent questions (keeps memory flat on a long-running bot)."""
        cutoff = self._clock() - self.window
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[key]
            self._warned.discard(key)
