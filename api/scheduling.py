"""Where a question is answered: on the event loop for a lone client, else in the threadpool.

Why: answering is CPU-bound, so it normally runs in the threadpool and the event loop stays
free for the other clients. With one client connected there is no one to keep the loop free
for, and the hop costs: handing the call to a worker thread and back took ~0.25 ms, and the
encoder ran ~0.25 ms slower on the worker's colder caches (``bench/ask_overhead.py``; POST
/ask 5.0-5.25 ms in the threadpool against 4.66 ms inline, one run). So while uvicorn holds
exactly one open connection, ``/ask`` runs inline. A second connection puts every later
question back in the threadpool, so concurrent clients still use both cores; a client that
connects while a lone question runs waits at most that one answer.

The live connection set is uvicorn's own (bound by ``api.server`` on the first connection),
so the count cannot drift. Without it (tests, another ASGI server) everything goes to the
threadpool, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class AskScheduler:
    """Runs one answer inline or in the threadpool, by the number of open connections."""

    def __init__(self) -> None:
        self._connections: Collection[object] | None = None
        self.inline = 0  # answers run on the event loop / in the threadpool, for tests and logs
        self.pooled = 0

    def bind(self, connections: Collection[object]) -> None:
        """Watch the server's live connection set (uvicorn's ``server_state.connections``)."""
        self._connections = connections

    def lone_client(self) -> bool:
        return self._connections is not None and len(self._connections) <= 1

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self.lone_client():
            self.inline += 1
            return fn(*args)
        self.pooled += 1
        return await run_in_threadpool(fn, *args)
