"""Observatory presets: position, standard pressure and telescope constants.

Values: Subaru (NAOJ; Miyazaki et al. 2018), CTIO Blanco (DES: Flaugher et al. 2015; FGCM's DES
standard pressure 778 hPa, Burke et al. 2018), Rubin (LSST: Ivezic et al. 2019; mirror area as in the
LSST fgcmcal configuration, 34.524 m^2).
"""

from __future__ import annotations

import dataclasses

from .errors import FgcmDbError


@dataclasses.dataclass(frozen=True)
class Site:
    """An observatory and its telescope.

    Attributes
    ----------
    name : preset name.
    latitude_deg, longitude_deg : geodetic, degrees (east positive).
    elevation_m : metres above sea level.
    pressure_std_hpa : typical (standard) air pressure at the telescope, hPa.
    mirror_area_m2 : effective collecting area, m^2 (absolute AB scale only).
    gain : electrons per count of the camera (absolute AB scale only).
    ut_boundary_days : night = floor(mjd + ut_boundary_days), days. Hawaiian nights (UT ~5h-17h) fit in
        one UT date (0.0); Chilean nights (UT ~23h-11h) need the boundary moved to UT 12h (-0.5).
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    pressure_std_hpa: float
    mirror_area_m2: float
    gain: float
    ut_boundary_days: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


SITES: dict[str, Site] = {
    "subaru": Site("subaru", 19.8256, -155.4761, 4139.0, 616.0, 50.0, 3.0, 0.0),
    "blanco": Site("blanco", -30.16606, -70.81489, 2215.0, 778.0, 10.0, 4.0, -0.5),
    "rubin": Site("rubin", -30.2444, -70.7494, 2663.0, 750.0, 34.524, 1.0, -0.5),
}


def get_site(name: str) -> Site:
    """The preset called ``name`` (case-insensitive); FgcmDbError listing the known ones otherwise."""
    try:
        return SITES[name.lower()]
    except KeyError:
        raise FgcmDbError(f"unknown site {name!r}; known sites: {', '.join(SITES)}") from None
