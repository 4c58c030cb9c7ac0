"""Per-app service state and the dependencies that hand it to routes.

The core loads in the background, so routes must cope with "not loaded yet" and "failed to
load"; ``get_core`` turns both into a readable 503 instead of every route checking for None.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, Request
from wenda.api.errors import ApiError
from wenda.api.jobs import JobManager
from wenda.api.settings import ApiSettings
from wenda.index.errors import WendaError
from wenda.index.interface import QACore

log = logging.getLogger("wenda.api")

LOADING_MESSAGE = "索引正在加载，请稍后再试。 The index is still loading; please retry shortly."


Core = QACore  # the core interface, defined once in index/interface.py


class ServiceState:
    """Settings, the core (once loaded), its load outcome and the reindex jobs of one app."""

    def __init__(self, settings: ApiSettings, core: Core | None = None) -> None:
        self.settings = settings
        self.core: Core | None = core
        self.owns_core = core is None  # an injected core belongs to the caller
        self.load_error: str | None = None
        self.jobs = JobManager()
        self._lock = threading.Lock()
        self._closed = False
        self.stopping = threading.Event()  # ends a loader still waiting for a usable index

    def start(self) -> None:
        """Called at lifespan start (an app may be started again after a shutdown)."""
        with self._lock:
            self._closed = False
            self.load_error = None
            self.stopping.clear()

    def install(self, core: Core) -> None:
        """Publish a freshly opened core, unless the app already shut down meanwhile."""
        with self._lock:
            if not self._closed:
                self.core = core
                self.load_error = None
                return
        core.close()

    def fail(self, exc: BaseException) -> None:
        if isinstance(exc, WendaError):
            self.load_error = exc.message
        else:
            self.load_error = "内部错误，详见服务器日志。 Internal error; see the server log."

    def shutdown(self, job_timeout: float = 30.0) -> None:
        """Let a running rebuild finish (bounded), then close the core if this app opened it."""
        with self._lock:
            self._closed = True
        self.stopping.set()
        if not self.jobs.wait(job_timeout):
            log.warning("shutting down while a reindex job is still running")
        core, self.core = self.core, None
        if core is not None and self.owns_core:
            core.close()


# Dependencies are ``async def`` on purpose: FastAPI runs sync ones in the threadpool,
# a needless thread hop per request for what is an attribute lookup.


async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.wenda
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_core(state: StateDep) -> Core:
    """The loaded core, or a 503 that says whether it is still loading or failed to load."""
    return loaded_core(state)


def loaded_core(state: ServiceState) -> Core:
    """``get_core`` without the dependency machinery (for the hot ``/ask`` route)."""
    core = state.core
    if core is not None:
        return core
    if state.load_error is not None:
        message = f"索引加载失败 / The index failed to load: {state.load_error}"
        raise ApiError(503, "index_unavailable", message)
    raise ApiError(503, "index_loading", LOADING_MESSAGE, headers={"Retry-After": "2"})


CoreDep = Annotated[Core, Depends(get_core)]
