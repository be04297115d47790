"""The models of the standard's default version, 1.0: the package's names.

GENERATED from ``DEFAULT_VERSION`` by ``python -m smartcommunity.models._generate``; do not edit.
"""

from ._v1_0 import *  # noqa: F403
from ._v1_0 import __all__ as __all__
