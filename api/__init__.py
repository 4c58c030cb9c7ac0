"""HTTP adapter for Wenda: FastAPI routes and the web page over ``wenda.index.core.Wenda``.

Importing this package is cheap and side-effect free; the core is loaded by the app's
lifespan (or injected), never at import time.
"""

from wenda.api.app import create_app

__all__ = ["create_app"]
