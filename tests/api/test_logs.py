"""Log lines are written by a listener thread, not by the caller (the event loop)."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from uvicorn.logging import AccessFormatter
from wenda.api.logs import write_off_loop

from tests.api.conftest import wait_until


class _Recording(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(stream)
        self.threads: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.threads.append(threading.current_thread().name)
        super().emit(record)


def test_access_lines_keep_their_text_and_are_written_by_another_thread() -> None:
    access, other = logging.getLogger("test.access"), logging.getLogger("test.other")
    out, err = io.StringIO(), io.StringIO()
    writer, other_writer = _Recording(out), _Recording(err)
    writer.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    access.addHandler(writer)
    other.addHandler(other_writer)
    other_writer.setLevel(logging.WARNING)
    access.setLevel(logging.INFO)
    other.setLevel(logging.INFO)
    access.propagate = other.propagate = False
    try:
        logs = write_off_loop(["test.access", "test.other", "test.none"])
        assert writer not in access.handlers  # moved behind the queue
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "POST", "/ask", "1.1", 200)
        other.info("below the handler's level: dropped")
        other.warning("索引加载失败 %s", "v1")
        logs.stop()  # writes what is queued, puts the handlers back
        assert access.handlers == [writer] and other.handlers == [other_writer]
    finally:
        for logger in (access, other):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    assert out.getvalue() == '127.0.0.1:5 - "POST /ask HTTP/1.1" 200 OK\n'  # uvicorn's format
    assert err.getvalue() == "索引加载失败 v1\n"  # each handler saw only its own logger
    here = threading.current_thread().name
    assert writer.threads and all(name != here for name in writer.threads)
    assert other_writer.threads and all(name != here for name in other_writer.threads)


@contextmanager
def _one_logger(name: str) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger at INFO writing to a string through a ``_Recording`` handler (not to the
    root logger); its handlers are taken off afterwards."""
    logger = logging.getLogger(name)
    out = io.StringIO()
    logger.addHandler(_Recording(out))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


def test_info_lines_wait_for_the_batch_and_a_warning_writes_them_at_once() -> None:
    """INFO lines are held for the next flush (here a minute away); a warning wakes the
    listener, which writes what was queued before it first; stop() writes the rest."""
    with _one_logger("test.batched") as (logger, out):
        logs = write_off_loop(["test.batched"], flush_seconds=60.0)
        logger.info("第一行")
        logger.info("第二行")
        time.sleep(0.2)
        assert out.getvalue() == ""  # held: the listener did not wake for INFO lines
        logger.warning("警告")
        wait_until(lambda: out.getvalue().count("\n") == 3, timeout=10)
        assert out.getvalue() == "第一行\n第二行\n警告\n"
        logger.info("收尾")
        logs.stop()
        assert out.getvalue().endswith("警告\n收尾\n")


def test_lines_are_written_within_the_flush_interval() -> None:
    with _one_logger("test.flushed") as (logger, out):
        logs = write_off_loop(["test.flushed"], flush_seconds=0.05)
        logger.info("访问日志")
        wait_until(lambda: out.getvalue() == "访问日志\n", timeout=10)
        logs.stop()


def test_an_idle_listener_sleeps_on_its_queue() -> None:
    """No periodic wake-ups: the batch wait starts only when a record comes."""
    waits: list[float | None] = []

    class Counting(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    with _one_logger("test.idle") as (logger, out):
        logs = write_off_loop(["test.idle"], flush_seconds=0.01)
        listener = logs.listeners[0]
        listener.wake = Counting()  # type: ignore[attr-defined]
        time.sleep(0.3)
        assert waits == []  # thirty intervals passed without a wake-up
        logger.info("一行")
        wait_until(lambda: out.getvalue() == "一行\n", timeout=10)
        assert waits == [0.01]
        logs.stop()
