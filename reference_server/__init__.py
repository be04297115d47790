"""The reference server of the Smart Community Interoperability Standard.

>>> from reference_server import Settings, create_app
>>> app = create_app(Settings(database_url="sqlite:///./demo.sqlite3", demo=True))  # doctest: +SKIP
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
