"""The kit's tests, one module per conformance class; importing registers them in the order
they run: core first, then the change feed, residents, issues, consultations and privacy."""

from . import _core, _feed, _residents, _issues, _consultations, _privacy  # noqa: F401, I001
