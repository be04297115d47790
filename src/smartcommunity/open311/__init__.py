"""Open311 GeoReport v2 (/conf/open311): the city's catalogue as Open311 services, and service
requests converted to and from issues by the spec's mapping (``mappings/open311.json``).

>>> from smartcommunity.open311 import catalogue, issue_to_request   # doctest: +SKIP
>>> services = catalogue(load_profile("spec/1.0/profiles/beijing-chaoyang.json"))  # doctest: +SKIP
>>> issue_to_request(issue, services).value["status"]               # doctest: +SKIP
'open'

A vendor puts the bridge in front of their own server with :func:`request_to_issue` (a POST
becomes an issue to create) and :func:`issue_to_request` (an issue, redacted for its reader,
becomes what GET requests answers); :func:`to_xml` writes the XML form.
"""

from __future__ import annotations

from ._community import community_of, inside, named_community
from ._convert import REQUEST_FIELDS, Conversion, issue_to_request, request_to_issue
from ._crs import to_wgs84, wgs84_to_gcj02
from ._export import ImportReport, import_requests, read_export
from ._mapping import Mapping311, mapping
from ._services import Catalogue, catalogue
from ._xml import from_xml, to_xml

__all__ = ["REQUEST_FIELDS", "Catalogue", "Conversion", "ImportReport", "Mapping311",
           "catalogue", "community_of", "from_xml", "import_requests", "inside",
           "issue_to_request", "mapping", "named_community", "read_export", "request_to_issue",
           "to_wgs84", "to_xml", "wgs84_to_gcj02"]
