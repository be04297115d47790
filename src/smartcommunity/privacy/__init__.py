"""Redaction of documents for an audience, computed from the schemas' PIPL tags.

>>> from smartcommunity.privacy import redact, audience_for_role
>>> audience_for_role("department")
'department'
"""

from __future__ import annotations

from ._redact import AUDIENCES, audience_for_role, redact, rekey_pseudonyms

__all__ = ["AUDIENCES", "audience_for_role", "redact", "rekey_pseudonyms"]
