"""Distance on the sphere: the one Earth radius and the one haversine of the project."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0  # metres per degree of arc on that sphere


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of the mean Earth radius.

    Hand-written rather than pulling in pyproj: under 0.5 % from the ellipsoidal distance,
    which never changes which station is nearest in any way that matters."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    return haversine_from_radians(phi1, math.radians(lon1), math.cos(phi1),
                                  phi2, math.radians(lon2), math.cos(phi2))


def haversine_from_radians(
    phi1: float, lam1: float, cos_phi1: float, phi2: float, lam2: float, cos_phi2: float
) -> float:
    """haversine_m for points whose radians and cos(latitude) were computed once already
    (routing measures one point against every station)."""
    h = math.sin((phi2 - phi1) / 2) ** 2 + cos_phi1 * cos_phi2 * math.sin((lam2 - lam1) / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
