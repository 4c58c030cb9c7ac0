"""Log records written by a background thread, not by the event loop.

Why: uvicorn's access log and Wenda's own lines go to stdout/stderr through plain
``StreamHandler``s, called on the event loop for every request. A slow reader of those
pipes (a terminal, a container log driver under pressure) then stalls every request, and
even a fast one costs the loop the formatting and the ``write`` (~0.04 ms per ``/ask``). Here
the loggers' handlers move behind one ``QueueHandler``: the loop only enqueues the record;
a listener thread formats and writes it with the original handlers, so the output is the
same text in the same order.

The listener writes in batches: the first line after a quiet spell starts a
``FLUSH_SECONDS`` wait, and everything queued by then is written together (a warning or an
error is written at once, after what was queued before it). Woken for every access line,
it took the GIL right while the loop was sending the response: ``POST /ask`` at one client
0.07 ms slower (1.46 against 1.39 times the bare encode, four alternating rounds, the same
as with the access log off; bench/results.md, "fifth session"). Idle, it sleeps on the
queue: no periodic wake-ups.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from logging.handlers import QueueHandler, QueueListener

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
"""The root logger (Wenda's lines) and uvicorn's; a logger without handlers is left alone."""
FLUSH_SECONDS = 0.1
"""How late an INFO line (an access line) may be written; warnings and errors are not held."""


class _Unformatted(QueueHandler):
    """Passes the record as it is: formatting happens in the listener's thread.

    ``QueueHandler.prepare`` would format on the caller's thread and drop ``args``, which
    uvicorn's access formatter reads. The args of log records are plain values, so
    handing the record to another thread is safe.
    """

    def __init__(
        self, records: queue.SimpleQueue[logging.LogRecord | None], wake: threading.Event
    ) -> None:
        super().__init__(records)
        self.wake = wake

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        self.queue.put_nowait(record)
        if record.levelno >= logging.WARNING:
            self.wake.set()


class _BatchingListener(QueueListener):
    """A ``QueueListener`` that writes in batches: once a record comes it waits ``interval``
    seconds for more (less when a warning or ``stop`` wakes it), instead of waking for
    every record; idle, it sleeps on the queue."""

    def __init__(
        self,
        records: queue.SimpleQueue[logging.LogRecord | None],
        wake: threading.Event,
        handlers: Sequence[logging.Handler],
        interval: float,
    ) -> None:
        super().__init__(records, *handlers, respect_handler_level=True)
        self.records = records  # ``self.queue``, with the type that has ``get_nowait``
        self.wake = wake
        self.interval = interval

    def _monitor(self) -> None:
        """Block until a record comes (no wake-ups while idle), gather what follows it for
        up to ``interval`` (a warning ends the wait), write them all in order."""
        while True:
            first = self.records.get()
            if first is not None and first.levelno < logging.WARNING:
                self.wake.wait(self.interval)
            self.wake.clear()
            batch = [first]
            while True:
                try:
                    batch.append(self.records.get_nowait())
                except queue.Empty:
                    break
            for record in batch:
                if record is None:  # stop()
                    return
                self.handle(record)

    def stop(self) -> None:
        """Write everything queued, then end the thread."""
        if self._thread is not None:
            self.records.put_nowait(None)
            self.wake.set()
            self._thread.join()
            self._thread = None


class OffLoopLogs:
    """What ``write_off_loop`` changed; ``stop()`` writes what is still queued and puts each
    logger's own handlers back."""

    def __init__(self) -> None:
        self.moved: list[tuple[logging.Logger, QueueHandler, list[logging.Handler]]] = []
        self.listeners: list[QueueListener] = []

    def stop(self) -> None:
        for listener in self.listeners:
            listener.stop()
        for logger, front, handlers in self.moved:
            logger.removeHandler(front)
            for handler in handlers:
                logger.addHandler(handler)
        self.listeners, self.moved = [], []


def write_off_loop(
    names: Sequence[str] = LOGGERS, flush_seconds: float = FLUSH_SECONDS
) -> OffLoopLogs:
    """Put a queue in front of each named logger's handlers, one listener thread each (so
    every handler still sees exactly its own logger's records, in order)."""
    done = OffLoopLogs()
    for name in names:
        logger = logging.getLogger(name)
        moved = [h for h in logger.handlers if not isinstance(h, QueueHandler)]
        if not moved:
            continue
        records: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        for handler in moved:
            logger.removeHandler(handler)
        wake = threading.Event()
        front = _Unformatted(records, wake)
        logger.addHandler(front)
        listener = _BatchingListener(records, wake, moved, flush_seconds)
        listener.start()
        done.moved.append((logger, front, moved))
        done.listeners.append(listener)
    return done
