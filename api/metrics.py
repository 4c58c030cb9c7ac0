"""Prometheus metrics at ``GET /metrics`` (prometheus-client, one registry per app).

Each app owns its ``CollectorRegistry``, so several apps in one process (tests, embedding)
never share or collide on series. Request counts and latencies are recorded by a pure ASGI
middleware, labelled with the route *template* (``/documents/{doc_id:path}``, not the raw
path) so that the label set stays small; the index state is read from the core at scrape time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wenda.api.state import ServiceState
from wenda.index.models import BuildReport
from wenda.index.watch import WatchBuild

log = logging.getLogger("wenda.api")

UNMATCHED = "<unmatched>"
BUILD_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class IndexCollector(Collector):
    """The served index version, its documents and chunks, read from the core per scrape."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        core = self.state.core
        loaded = GaugeMetricFamily("wenda_index_loaded", "1 once the index is loaded and served.")
        loaded.add_metric([], 0.0 if core is None else 1.0)
        yield loaded
        if core is None:
            return
        try:
            status = core.status()
        except Exception:  # a scrape must never fail because the core is mid-swap
            log.warning("index status unavailable for /metrics", exc_info=True)
            return
        info = InfoMetricFamily("wenda_index", "The index version being served.")
        info.add_metric(
            [], {"version": status.version, "model": status.model, "dense": status.dense_index}
        )
        yield info
        chunks = GaugeMetricFamily("wenda_index_chunks", "Chunks in the served index version.")
        chunks.add_metric([], float(status.chunks))
        yield chunks
        docs = GaugeMetricFamily("wenda_index_documents", "Documents in the served version.")
        docs.add_metric([], float(status.documents))
        yield docs


class Metrics:
    """The metric objects of one app; ``observe_*`` are called by routes and build hooks."""

    def __init__(self, state: ServiceState) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "wenda_http_requests", "HTTP requests by route and status.", labels,
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "wenda_http_request_duration_seconds",
            "Time to the end of the response, by route and status.",
            labels,
            registry=self.registry,
        )
        self.questions = Counter(
            "wenda_questions",
            "Questions answered (answerable) or refused (not in the documents), by endpoint.",
            ("endpoint", "outcome"),
            registry=self.registry,
        )
        self.builds = Counter(
            "wenda_builds", "Index builds run by this process, by outcome.", ("trigger", "outcome"),
            registry=self.registry,
        )  # fmt: skip
        self.build_seconds = Histogram(
            "wenda_build_duration_seconds",
            "Duration of index builds run by this process.",
            ("trigger",),
            buckets=BUILD_BUCKETS,
            registry=self.registry,
        )
        self.skipped = Counter(
            "wenda_build_documents_skipped",
            "Documents skipped by builds (unreadable, empty, binary, too large).",
            ("trigger",),
            registry=self.registry,
        )
        self.registry.register(IndexCollector(state))

    def observe_answer(self, endpoint: str, answerable: bool) -> None:
        self.questions.labels(endpoint, "answered" if answerable else "refused").inc()

    def observe_build(
        self, trigger: str, seconds: float, report: BuildReport | None, ok: bool = True
    ) -> None:
        """Record one build (``trigger``: ``reindex`` for POST /reindex, ``watch``, ...)."""
        self.builds.labels(trigger, "succeeded" if ok else "failed").inc()
        self.build_seconds.labels(trigger).observe(seconds)
        if report is not None and report.skipped:
            self.skipped.labels(trigger).inc(len(report.skipped))

    def timed_build(
        self, trigger: str, build: Callable[..., BuildReport]
    ) -> Callable[..., BuildReport]:
        """Wrap a build function so that its duration, outcome and skips are recorded."""

        def run(*args: Any, **kwargs: Any) -> BuildReport:
            began = time.perf_counter()
            try:
                report = build(*args, **kwargs)
            except BaseException:
                self.observe_build(trigger, time.perf_counter() - began, None, ok=False)
                raise
            self.observe_build(trigger, time.perf_counter() - began, report)
            return report

        return run

    def observe_watch_build(self, build: WatchBuild) -> None:
        """Listener for the corpus watcher (WENDA_WATCH=1): one automatic build finished."""
        self.observe_build("watch", build.seconds, build.report, build.ok)


def route_label(app: Any, scope: Scope, original: Scope) -> str:
    """The route template that matched, ``<unmatched>`` for 404s (bounded cardinality).

    ``scope`` is the one routing filled in; ``original`` a copy taken before routing, to
    match mounts (``/static``), which set no ``scope["route"]`` and rewrite the root path.
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for candidate in getattr(app, "routes", ()):
        match, _ = candidate.matches(original)
        if match == Match.FULL:
            return str(getattr(candidate, "path", UNMATCHED)) or UNMATCHED
    return UNMATCHED


class MetricsMiddleware:
    """Counts every HTTP request and times it to the end of its body (streams included)."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500
        original = dict(scope)

        async def send_tracking(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        finally:
            metrics = app_metrics(self.fastapi_app)
            labels = (
                scope.get("method", ""),
                route_label(self.fastapi_app, scope, original),
                str(status),
            )
            metrics.requests.labels(*labels).inc()
            metrics.latency.labels(*labels).observe(time.perf_counter() - began)


def install_metrics(app: FastAPI, state: ServiceState) -> Metrics:
    """Create the app's metrics, its middleware and the ``/metrics`` route.

    Call after ``app.state.watcher`` is set, so automatic builds are recorded too.
    """
    metrics = Metrics(state)
    app.state.metrics = metrics
    watcher = getattr(app.state, "watcher", None)
    if watcher is not None:
        watcher.add_listener(metrics.observe_watch_build)
    app.add_middleware(MetricsMiddleware, fastapi_app=app)
    app.include_router(router)
    return metrics


def app_metrics(app: Any) -> Metrics:
    metrics: Metrics = app.state.metrics
    return metrics


async def get_metrics(request: Request) -> Metrics:
    return app_metrics(request.app)


MetricsDep = Annotated[Metrics, Depends(get_metrics)]

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition."}},
)
async def metrics_endpoint(metrics: MetricsDep) -> Response:
    """Request counts and latencies, answered/refused questions, index version, builds."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
