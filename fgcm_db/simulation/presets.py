"""Survey sizes of the ``--preset`` choices: how many nights, visits, detectors, bands and objects.

Measured sizes (seed 1; star observations = detected, unflagged point sources): see
the README (Simulated tracts) and ``bench/simulate.py``.
"""

from __future__ import annotations

import dataclasses

from ..errors import FgcmDbError


@dataclasses.dataclass(frozen=True)
class Preset:
    """One survey size.

    Attributes
    ----------
    name : preset name.
    bands : abstract bands observed, e.g. ("g", "r").
    n_nights : observing nights.
    n_visits : visits in all (spread over nights and bands).
    bands_per_night : most bands observed in one night (filter changes are rare).
    max_radius_mm : keep detectors whose centres lie within this focal-plane radius; None = all 104.
    dither_radius_deg : boresights fall uniformly within this radius of the field centre, degrees.
    star_density : stars per square degree, 16-24.8 mag in the reference band.
    galaxy_density : galaxies per square degree (an undersample of the real sky: they only need to
        be present and rejected).
    span_days : the nights are spread over this many days (a mirror wash falls in the middle).
    """

    name: str
    bands: tuple[str, ...]
    n_nights: int
    n_visits: int
    bands_per_night: int
    max_radius_mm: float | None
    dither_radius_deg: float
    star_density: float
    galaxy_density: float
    span_days: float


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", ("g", "r"), n_nights=4, n_visits=32, bands_per_night=2, max_radius_mm=100.0,
                   dither_radius_deg=0.12, star_density=4000.0, galaxy_density=1000.0, span_days=20.0),
    "small": Preset("small", ("g", "r", "i", "z"), n_nights=10, n_visits=128, bands_per_night=3,
                    max_radius_mm=200.0, dither_radius_deg=0.3, star_density=3200.0, galaxy_density=1000.0,
                    span_days=60.0),
    "tract": Preset("tract", ("g", "r", "i", "z", "y"), n_nights=30, n_visits=450, bands_per_night=3,
                    max_radius_mm=None, dither_radius_deg=0.5, star_density=6000.0, galaxy_density=1500.0,
                    span_days=120.0),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; FgcmDbError listing the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise FgcmDbError(f"unknown --preset {name!r}; choose one of {', '.join(PRESETS)}") from None
