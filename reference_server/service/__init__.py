"""The API's operations, independent of HTTP."""

from __future__ import annotations

from ._core import PLURAL, Result, Service
from ._policies import ITEMS

__all__ = ["ITEMS", "PLURAL", "Result", "Service"]
