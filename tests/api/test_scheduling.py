"""Lone-client questions run on the event loop; with more clients they go to the threadpool."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from wenda.api import create_app
from wenda.api.scheduling import AskScheduler
from wenda.api.server import protocol_class

from tests.api.conftest import CoreProxy, LiveServer, make_settings

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def _thread_of(scheduler: AskScheduler) -> str:
    async def main() -> str:
        return await scheduler.run(lambda: threading.current_thread().name)

    return asyncio.run(main())


def test_scheduler_runs_inline_only_with_one_open_connection() -> None:
    scheduler = AskScheduler()
    here = threading.current_thread().name
    assert _thread_of(scheduler) != here  # not bound to a server: threadpool, as before
    connections: set[object] = {object()}
    scheduler.bind(connections)
    assert _thread_of(scheduler) == here
    connections.add(object())
    assert _thread_of(scheduler) != here  # the live set is read on every call
    assert (scheduler.inline, scheduler.pooled) == (1, 2)


class _RecordingCore(CoreProxy):
    """Records where and when each answer ran; ``delay`` makes answers overlap-able."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        super().__init__(inner)
        self.delay = delay
        self.calls: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def ask(self, question: str, top_k: int | None = None, mode: Any = None) -> Any:
        began = time.perf_counter()
        time.sleep(self.delay)
        answer = self._inner.ask(question, top_k, mode)
        with self._lock:
            self.calls.append((threading.current_thread().name, began, time.perf_counter()))
        return answer


def _serve(root: Path, core: _RecordingCore) -> tuple[LiveServer, AskScheduler]:
    scheduler = AskScheduler()
    app = create_app(make_settings(root), core=core, scheduler=scheduler)
    return LiveServer(app, http=protocol_class(10.0, 100, scheduler)), scheduler


def test_a_lone_client_is_answered_on_the_event_loop(tmp_path: Path, shared_core: Any) -> None:
    core = _RecordingCore(shared_core)
    server, scheduler = _serve(tmp_path, core)
    with server, httpx.Client(base_url=server.url, timeout=60) as http:
        for _ in range(3):
            r = http.post("/ask", json={"question": QUESTION})
            assert r.status_code == 200 and "5182家" in r.json()["passages"][0]["text"]
        get = http.get("/ask", params={"q": QUESTION})
        assert get.status_code == 200
    loop_thread = server.thread.name
    assert [name for name, _, _ in core.calls] == [loop_thread] * 4
    assert (scheduler.inline, scheduler.pooled) == (4, 0)


def test_concurrent_clients_still_answer_in_parallel(tmp_path: Path, shared_core: Any) -> None:
    core = _RecordingCore(shared_core, delay=0.5)
    server, scheduler = _serve(tmp_path, core)
    with server, httpx.Client(base_url=server.url) as a, httpx.Client(base_url=server.url) as b:
        assert a.get("/healthz").status_code == 200  # both connections open before asking
        assert b.get("/healthz").status_code == 200
        results: list[int] = []

        def ask(client: httpx.Client) -> None:
            results.append(client.post("/ask", json={"question": QUESTION}).status_code)

        threads = [threading.Thread(target=ask, args=(c,)) for c in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert results == [200, 200]
    assert (scheduler.inline, scheduler.pooled) == (0, 2)
    (_, began_1, ended_1), (_, began_2, ended_2) = core.calls
    assert max(began_1, began_2) < min(ended_1, ended_2)  # the two answers overlapped
    assert all(name != server.thread.name for name, _, _ in core.calls)
