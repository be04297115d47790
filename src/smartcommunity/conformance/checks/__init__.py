"""The kit's checks, one module per conformance class, each citing the requirement it checks;
importing this package registers them in the order they run: core first, then the change
feed, residents, issues, consultations and privacy, integrity (history chains, feed digests),
then those that change access over time; last, every response of the run held to the
OpenAPI. What the modules share is in ``_shared``, with the
residents and proxies they create in ``_people`` and their reading of the feed in
``_watching``."""

from . import _core, _feed, _residents, _issues, _consultations, _privacy  # noqa: F401, I001
from . import _organisations  # noqa: F401
from . import _integrity  # noqa: F401
from . import _access_now  # noqa: F401  # checks that change access, then read every copy
from . import _retention  # noqa: F401  # erasure reaching other records; retention periods
from . import _audiences  # noqa: F401  # intake, system and consent-bound department reads
from . import _unreceived  # noqa: F401  # updates by writers that receive part of a record
from . import _matrix  # noqa: F401  # every reader × every read path × every tagged field
from . import _profiles  # noqa: F401  # the city profile a server runs (/conf/profiles)
from . import _indicators  # noqa: F401  # GET /indicators against the library's figures
from . import _public  # noqa: F401  # the public pages, read without a token
from . import _voice  # noqa: F401  # residents' voice: opinions, proposals, replies
from . import _open311  # noqa: F401  # the Open311 bridge (optional class)
from . import _responses  # noqa: F401  # every response of the run against the OpenAPI (last)
