from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# One fixed profile: CI runs the same examples every time; locally HYPOTHESIS_PROFILE=dev explores.
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
