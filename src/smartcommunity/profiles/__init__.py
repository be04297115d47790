"""City profiles: how a city fits the standard to its departments and rules (/conf/profiles).

>>> from smartcommunity.profiles import load_profile          # doctest: +SKIP
>>> city = load_profile("spec/1.0/profiles/beijing-chaoyang.json")  # doctest: +SKIP
>>> city.deadline("environment.garbage", "normal", "response", start)  # doctest: +SKIP

:func:`check_profile` lists every problem of a profile as findings; :func:`load_profile` returns a
:class:`Profile` (raising :class:`~smartcommunity.exceptions.ProfileError` with the findings when
there are errors). ``smartcommunity.validate(document, profile=city)`` validates a document as
the city reads it, and ``smartcommunity.redact(document, audience, profile=city)`` redacts the
city's registered extensions by their own tags.
"""

from __future__ import annotations

from ._calendar import Calendar, TimeLimit
from ._profile import Extension, Profile, Service, check_profile, load_profile

__all__ = ["Calendar", "Extension", "Profile", "Service", "TimeLimit", "check_profile",
           "load_profile"]
