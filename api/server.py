"""uvicorn (httptools parser) with a request deadline and a connection cap (slow and idle clients).

uvicorn has no timeout for receiving a request: ``timeout_keep_alive`` only runs *between*
requests and is reset by every byte, so 1,000 sockets that never finish their headers
(Slowloris) were all held open. ``DeadlineProtocol`` closes a connection that has not
delivered a complete request (headers and body) within ``request_timeout`` seconds of
connecting or of starting its next request, and refuses connections beyond
``max_connections`` at once. Responses are never cut: the deadline is disarmed as soon as
the request has arrived. (uvicorn's ``limit_concurrency`` alone answers 503 but still keeps
each socket open.)

The parser is httptools, not h11: on ``POST /ask`` the pure-Python h11 cost ~0.1 ms more
per request on each side (bench/results.md, "Issue 14, third session").

Each new connection also hands uvicorn's live connection set to the ``AskScheduler``, which
answers a lone client's question on the event loop (``api.scheduling``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from wenda.api.scheduling import AskScheduler

log = logging.getLogger("wenda.api.server")


class DeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol + an absolute deadline for receiving each request + a connection cap."""

    request_timeout: float = 10.0
    max_connections: int = 1000
    closed_by_deadline = 0  # process-wide counters, for logs and the stress bench
    refused_connections = 0
    scheduler: AskScheduler | None = None  # told the live connection set (lone-client asks)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.scheduler is not None:
            self.scheduler.bind(self.connections)
        if len(self.connections) > self.max_connections:
            type(self).refused_connections += 1
            if type(self).refused_connections in (1, 100, 10_000):
                log.warning(
                    "more than %d open connections: refusing new ones (%d so far)",
                    self.max_connections,
                    type(self).refused_connections,
                )
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request on a kept-alive connection starts now
        super().data_received(data)
        if self.cycle is not None and not self.cycle.more_body:
            self._disarm()  # the whole request has arrived

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        type(self).closed_by_deadline += 1
        log.debug("closing %s: no complete request in %.1f s", self.client, self.request_timeout)
        self.transport.close()


def protocol_class(
    request_timeout: float, max_connections: int, scheduler: AskScheduler | None = None
) -> type[DeadlineProtocol]:
    """A protocol class with these limits (uvicorn takes a class, not an instance)."""
    return type(
        "WendaHttpProtocol",
        (DeadlineProtocol,),
        {
            "request_timeout": request_timeout,
            "max_connections": max_connections,
            "scheduler": scheduler,
        },
    )
