"""``wenda serve``: run the HTTP API and web page with uvicorn.

Registered through the ``wenda.commands`` entry point, so the core CLI never imports web code;
uvicorn and the app are imported only when the command actually runs.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
STARTUP_FAILURE = 3  # uvicorn's exit code when the server never started (port in use, ...)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {port}")
    return port


def register(subparsers: Any) -> None:
    """Add the ``serve`` sub-command to the core CLI's argparse subparsers."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API and the question page",
        description=(
            "Serve the API (/ask, /documents, /reindex, /readyz, /docs) and the web page at /. "
            "Builds the index first if none exists. Settings come from WENDA_* variables."
        ),
    )
    parser.add_argument("--host", default=None, help="bind address (default: WENDA_HOST)")
    parser.add_argument("--port", type=_port, default=None, help="port (default: WENDA_PORT)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="log verbosity")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Any) -> int:
    """Serve until interrupted; returns the process exit code."""
    import uvicorn
    from wenda.api.app import create_app
    from wenda.api.logs import write_off_loop
    from wenda.api.scheduling import AskScheduler
    from wenda.api.server import protocol_class
    from wenda.api.settings import ApiSettings

    if settings.store != "local":  # a remote index backend must answer before we listen
        from wenda.index.store.base import open_store

        open_store(settings).close()  # unreachable: StoreUnavailableError, exit code 2
    settings = ApiSettings.from_core(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    level = getattr(args, "log_level", "info")
    _show_own_logs(level.upper())
    scheduler = AskScheduler()
    app = create_app(settings, scheduler=scheduler)
    config = uvicorn.Config(  # configures uvicorn's loggers
        app,
        host=host,
        port=port,
        log_level=level,
        proxy_headers=False,
        http=protocol_class(settings.request_timeout_seconds, settings.max_connections, scheduler),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=5,
    )
    logs = write_off_loop()  # access lines and Wenda's own: written by a thread, not the loop
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # pragma: no cover - as uvicorn.run: a second Ctrl-C
        pass
    finally:
        logs.stop()
    return 0 if server.started else STARTUP_FAILURE


def _show_own_logs(level: str) -> None:
    """Let Wenda's INFO lines (index loaded, version switched) through.

    The core CLI configured the root handler at WARNING before this command ran, which hid
    them; the handler now passes ``level`` while third-party loggers stay at WARNING.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(level)
    root.setLevel(max(logging.getLevelName(level), logging.WARNING))
    logging.getLogger("wenda").setLevel(level)
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
