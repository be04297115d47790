"""Open311's lat/long are WGS-84; points in China are often GCJ-02 or BD-09.

The GCJ-02 offset is the published closed form (Krasovsky ellipsoid); the way back is found by
fixed-point iteration, to well under a metre. BD-09 is GCJ-02 shifted once more. Which
coordinate system takes which method is the mapping's ``crsMethods`` table.
"""

from __future__ import annotations

import math

__all__ = ["to_wgs84", "wgs84_to_gcj02"]

_A = 6378245.0
_EE = 0.00669342162296594323
_BD_SHIFT = math.pi * 3000.0 / 180.0


def _outside_china(lat: float, lon: float) -> bool:
    return not (0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347)


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """How far GCJ-02 puts a WGS-84 point (degrees of latitude, longitude)."""
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * math.sqrt(abs(x)))
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    wave = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlat += wave + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2 / 3
    dlon += wave + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    root = math.sqrt(magic)
    dlat = dlat * 180.0 / ((_A * (1 - _EE)) / (magic * root) * math.pi)
    dlon = dlon * 180.0 / (_A / root * math.cos(rad) * math.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 point of a WGS-84 one (the same point outside China)."""
    if _outside_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def _gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    if _outside_china(lat, lon):
        return lat, lon
    wlat, wlon = lat, lon
    for _ in range(30):  # converges by about 1e-3 a step: 1e-9 degrees in a handful
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        dlat, dlon = glat - lat, glon - lon
        wlat, wlon = wlat - dlat, wlon - dlon
        if abs(dlat) < 1e-10 and abs(dlon) < 1e-10:
            break
    return wlat, wlon


def _bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_SHIFT)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_SHIFT)
    return z * math.sin(theta), z * math.cos(theta)


def to_wgs84(lat: float, lon: float, method: str | None) -> tuple[float, float] | None:
    """``(lat, lon)`` in WGS-84 by ``method`` (``identity``, ``undo-gcj-offset``,
    ``undo-bd-offset``: the mapping's ``crsMethods``), rounded to
    seven decimals (about a centimetre); None for a method this module does not know."""
    if method == "identity":
        found = (lat, lon)
    elif method == "undo-gcj-offset":
        found = _gcj02_to_wgs84(lat, lon)
    elif method == "undo-bd-offset":
        found = _gcj02_to_wgs84(*_bd09_to_gcj02(lat, lon))
    else:
        return None
    return round(found[0], 7), round(found[1], 7)
