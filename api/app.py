"""The app factory and its lifespan: load the core in the background, keep it fresh, close it.

Loading the embedder (and building a missing index) can take a long time, so startup does not
wait for it: ``/healthz`` and ``/readyz`` answer at once and ``/ask`` says 503 until the core
is in place. A background task also polls for versions published by another process
(``wenda index``), so an idle server switches to them without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from wenda.api import routes_admin, routes_ask, routes_docs, routes_feedback, routes_health
from wenda.api.auth import ApiProtectionMiddleware
from wenda.api.errors import InternalErrorMiddleware, install_error_handlers
from wenda.api.fast_ask import FastAskMiddleware
from wenda.api.limits import BodySizeLimitMiddleware
from wenda.api.metrics import install_metrics
from wenda.api.openai_routes import install_openai
from wenda.api.scheduling import AskScheduler
from wenda.api.settings import ApiSettings
from wenda.api.state import Core, ServiceState
from wenda.api.web import mount_web
from wenda.index.settings import Settings
from wenda.index.watch import CorpusWatcher, corpus_watcher

log = logging.getLogger("wenda.api")

MIN_REFRESH_SECONDS = 0.5

DESCRIPTION = """
Ask questions about a collection of Chinese documents and get an answer with the passages it
is based on (citations with document, section and character offsets).

Errors always have the body `{"error": {"code": "...", "message": "..."}}`; messages are in
Chinese first, then English. Under `/v1` (the OpenAI-compatible API) the error object also has
OpenAI's `type` and `param`, so OpenAI SDKs raise their usual exceptions.
"""


def _open_core(state: ServiceState) -> None:
    """Runs in a worker thread: open (or build, then open) the index and publish the core.

    When that fails (no index, damaged versions, a failed build) it keeps watching the
    published versions and opens the core as soon as another process publishes a good one.
    """
    from wenda.index.startup import (
        open_when_ready,  # imported here: pulls in numpy/faiss/jieba, keep import cheap
    )

    core = open_when_ready(state.settings, state.stopping, on_failure=state.fail)
    if core is None:  # shut down before an index became usable
        return
    state.install(core)
    log.info("index loaded: version %s", core.version)


async def _refresh_loop(state: ServiceState) -> None:
    """Pick up versions published by other processes even when no question arrives."""
    interval = max(state.settings.reload_check_seconds, MIN_REFRESH_SECONDS)
    while True:
        await anyio.sleep(interval)
        core = state.core
        if core is None:
            continue
        try:
            await anyio.to_thread.run_sync(core.refresh)  # the core logs a switch itself
        except Exception:
            log.warning("index refresh failed; still serving the current version", exc_info=True)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.wenda
    state.start()
    watcher: CorpusWatcher | None = app.state.watcher  # WENDA_WATCH=1: rebuild on changes
    if watcher is not None:
        watcher.start()
    async with anyio.create_task_group() as tasks:
        if state.core is None:
            # abandon_on_cancel: shutdown need not wait for a slow load; install() closes a
            # core that arrives after shutdown.
            load = partial(anyio.to_thread.run_sync, _open_core, state, abandon_on_cancel=True)
            tasks.start_soon(load)
        tasks.start_soon(_refresh_loop, state)
        try:
            yield
        finally:
            tasks.cancel_scope.cancel()
    if watcher is not None:
        await anyio.to_thread.run_sync(watcher.stop)
    await anyio.to_thread.run_sync(state.shutdown)


def _version() -> str:
    try:
        return package_version("wenda")
    except PackageNotFoundError:
        return "0.0.0+local"


def create_app(
    settings: Settings | None = None,
    *,
    core: Core | None = None,
    scheduler: AskScheduler | None = None,
) -> FastAPI:
    """Build the app. ``settings`` defaults to the environment (WENDA_*).

    Pass ``core`` to serve an already-open ``Wenda`` (tests, embedding in another program);
    the caller keeps ownership and closes it. Otherwise the lifespan opens one and closes it.
    ``scheduler`` is the one the server's protocol feeds (``wenda serve``); without one,
    every question is answered in the threadpool.
    """
    settings = ApiSettings() if settings is None else ApiSettings.from_core(settings)
    app = FastAPIOffline(  # /docs and /redoc assets come from the package, not a CDN
        title="Wenda 问答",
        summary="Retrieval question answering with cited passages over Chinese documents.",
        description=DESCRIPTION,
        version=_version(),
        lifespan=_lifespan,
        strict_content_type=False,  # a JSON body without Content-Type still parses
    )
    app.state.wenda = ServiceState(settings, core)
    app.state.ask_scheduler = scheduler or AskScheduler()
    app.state.watcher = corpus_watcher(settings, lambda: app.state.wenda.core)
    install_error_handlers(app)
    # Added last = outermost: the 500 guard wraps everything, the size cap wraps the routes.
    app.add_middleware(FastAskMiddleware, fastapi_app=app)  # innermost: after every check
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        ApiProtectionMiddleware,
        api_keys=settings.api_keys,
        rate_limit_per_minute=settings.rate_limit_per_minute,
    )
    app.add_middleware(InternalErrorMiddleware)
    install_metrics(app, app.state.wenda)  # outermost: counts 401/413/429/500 too
    install_openai(app)
    for module in (routes_ask, routes_docs, routes_health, routes_admin, routes_feedback):
        app.include_router(module.router)
    mount_web(app)
    if settings.cors_origins:  # outermost: preflights are answered before keys and limits
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    return app
