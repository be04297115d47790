"""The kit's tests, one module per conformance class; importing registers them."""

from . import _core, _feed, _privacy  # noqa: F401
