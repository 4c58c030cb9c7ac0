"""One pymilvus client and the translation of its failures into domain errors.

pymilvus raises ``MilvusException`` for everything; the store needs three outcomes: the
server is unreachable (``StoreUnavailableError``, a 503 at the API, exit code 2 at start-up),
a collection is not loaded (load it and retry once: Milvus Lite forgets loads when it
restarts), or a real error (re-raised for the caller to judge).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from pymilvus import MilvusClient
from pymilvus.exceptions import ConnectError, MilvusException, MilvusUnavailableException
from wenda.index.errors import StoreUnavailableError

log = logging.getLogger("wenda.milvus")
T = TypeVar("T")

CONNECT_FAILED = 2  # pymilvus ErrorCode for "Fail connecting to server"
COLLECTION_NOT_FOUND = 100
NOT_LOADED = 101
QUERY_LIMIT = 16384  # Milvus caps offset + limit of one query
_NOISY_LOGGERS = (  # children of "pymilvus", which pymilvus itself sets to WARNING
    "pymilvus.decorators",
    "pymilvus.client.connection_manager",
    "pymilvus.client.iterator.query_iterator",
    "milvus_lite",
)
# No keepalive pings on an idle connection: Milvus Lite's server (gRPC's default policy)
# answers them with GOAWAY "too_many_pings", which fails calls in flight. The next call
# notices a dead connection anyway.
_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}
_UNREACHABLE_WORDS = ("unavailable", "connect", "deadline", "timed out", "timeout")


def is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, MilvusUnavailableException | ConnectError | grpc.RpcError):
        return True
    if isinstance(exc, MilvusException):
        text = str(exc.message).lower()
        return exc.code == CONNECT_FAILED or any(w in text for w in _UNREACHABLE_WORDS)
    return isinstance(exc, ConnectionError | TimeoutError)


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, MilvusException) and (
        exc.code == COLLECTION_NOT_FOUND or "not exist" in str(exc.message).lower()
    )


class MilvusConnection:
    """A client for one URI; every call goes through ``call`` (thread-safe, as pymilvus)."""

    def __init__(self, uri: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.uri = uri
        self.timeout = timeout
        # pymilvus logs a traceback at ERROR for every failed call, including the ones we
        # expect (a missing alias, a reconnect); we translate them. Explicit levels win.
        for name in _NOISY_LOGGERS:
            quiet = logging.getLogger(name)
            if quiet.level == logging.NOTSET:
                quiet.setLevel(logging.CRITICAL)
        try:
            self.client = MilvusClient(
                uri=uri, token=token or "", timeout=timeout, grpc_options=_GRPC_OPTIONS
            )
        except Exception as exc:
            reason = _reason(exc)
            if "://" not in uri:  # Milvus Lite in process: its data folder has one owner
                reason += (
                    " (Milvus Lite 的数据目录只能由一个进程使用；多进程请用服务器地址 / a Milvus "
                )
                reason += "Lite folder serves one process only: run `milvus-lite server`)"
            raise StoreUnavailableError(uri, reason) from exc

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(*args, **kwargs)`` with unreachable → ``StoreUnavailableError``."""
        kwargs.setdefault("timeout", self.timeout)
        return self.guard(lambda: getattr(self.client, method)(*args, **kwargs))

    def loaded_call(self, collection: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """A read on ``collection``; if the server forgot its load (restart), load and retry."""
        return self._loaded(collection, lambda: self.call(method, collection, *args, **kwargs))

    def query_all(self, collection: str, filter: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching ``filter`` (iterates past Milvus' 16,384-row query limit)."""

        def run() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = self.client.query(
                collection,
                filter=filter,
                output_fields=fields,
                limit=QUERY_LIMIT,
                timeout=self.timeout,
            )
            if len(rows) < QUERY_LIMIT:
                return rows
            iterator = self.client.query_iterator(  # rare: more rows than one query returns
                collection,
                batch_size=1000,
                filter=filter,
                output_fields=fields,
                timeout=self.timeout,
            )
            rows = []
            try:
                while batch := iterator.next():
                    rows.extend(batch)
            finally:
                iterator.close()
            return rows

        return self._loaded(collection, lambda: self.guard(run))

    def _loaded(self, collection: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except MilvusException as exc:
            if exc.code != NOT_LOADED and "load" not in str(exc.message).lower():
                raise
            log.info("collection %s not loaded (server restarted?); loading", collection)
            self.call("load_collection", collection)
            return fn()

    def guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            if is_unreachable(exc):
                raise StoreUnavailableError(self.uri, _reason(exc)) from exc
            raise

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a dead connection is not an error worth reporting
            log.debug("closing the Milvus client failed", exc_info=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MilvusException):
        return str(exc.message).splitlines()[0][:200]
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
