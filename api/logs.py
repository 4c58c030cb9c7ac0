"""Log records written by a background thread, not by the event loop.

Why: uvicorn's access log and Wenda's own lines go to stdout/stderr through plain
``StreamHandler``s, called on the event loop for every request. A slow reader of those
pipes (a terminal, a container log driver under pressure) then stalls every request, and
even a fast one costs the loop the formatting and the ``write`` (~0.04 ms per ``/ask``). Here
the loggers' handlers move behind one ``QueueHandler``: the loop only enqueues the record;
a ``QueueListener`` thread formats and writes it with the original handlers, so the output
is the same text in the same order.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Sequence
from logging.handlers import QueueHandler, QueueListener

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
"""The root logger (Wenda's lines) and uvicorn's; a logger without handlers is left alone."""


class _Unformatted(QueueHandler):
    """Passes the record as it is: formatting happens in the listener's thread.

    ``QueueHandler.prepare`` would format on the caller's thread and drop ``args``, which
    uvicorn's access formatter reads. The args of log records are plain values, so
    handing the record to another thread is safe.
    """

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


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


def write_off_loop(names: Sequence[str] = LOGGERS) -> OffLoopLogs:
    """Put a queue in front of each named logger's handlers, one listener thread each (so
    every handler still sees exactly its own logger's records, in order)."""
    done = OffLoopLogs()
    for name in names:
        logger = logging.getLogger(name)
        moved = [h for h in logger.handlers if not isinstance(h, QueueHandler)]
        if not moved:
            continue
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        for handler in moved:
            logger.removeHandler(handler)
        front = _Unformatted(records)
        logger.addHandler(front)
        listener = QueueListener(records, *moved, respect_handler_level=True)
        listener.start()
        done.moved.append((logger, front, moved))
        done.listeners.append(listener)
    return done
