"""Configuration of the `simulate` stage (the `[simulate]` section of a config file).

The survey size comes from ``--preset`` (:mod:`fgcm_db.simulation.presets`); the fields below set the
physics and may override the preset's size.
"""

from __future__ import annotations

import dataclasses

from ..errors import FgcmDbError


@dataclasses.dataclass
class SimulateConfig:
    """Settings of the simulate stage; every field documents its unit and default."""

    #: observatory preset (fgcm_db.sites): position, pressure, mirror area and gain.
    site: str = "subaru"
    #: field centre, degrees (RA 150, Dec +2.2: a COSMOS-like field that transits near the zenith).
    field_ra: float = 150.0
    field_dec: float = 2.2
    #: UT date (MJD) of the first possible night; nights are drawn over the preset's span after it.
    start_mjd: float = 60670.0
    #: visits only within this hour angle of the meridian, degrees (52.5 = 3.5 h).
    max_hour_angle_deg: float = 52.5
    #: False: the noise-free mode (no photon, read or floor noise, no background or deblending errors).
    noise: bool = True
    #: unreported multiplicative error per observation (flat field and the like), mag rms.
    floor_mag: float = 0.003
    #: expected fraction of non-photometric (cloudy) visits.
    nonphotometric_fraction: float = 0.333
    #: gray cloud extinction of a cloudy visit, drawn log-uniformly between these, mag.
    gray_min_mag: float = 0.02
    gray_max_mag: float = 1.0
    #: rms of the per-detector gray QE scale (fraction).
    qe_rms: float = 0.01
    #: rms of the per-detector filter-edge (wavelength) shift, nm.
    edge_shift_rms_nm: float = 1.0
    #: throughput loss rate from mirror dust, mag per day (restarts at the mid-survey mirror wash).
    decline_mag_per_day: float = 3e-4
    #: fraction of stars that vary (sinusoids of 0.03-0.5 mag semi-amplitude).
    variable_fraction: float = 0.02
    #: fraction of stars with a close fainter companion (written as a deblended parent + 2 children).
    blend_fraction: float = 0.03
    #: blank-sky measurements per detector per visit.
    n_sky_per_detector: int = 8
    #: rms residual of the global background subtraction per detector, fraction of the sky level.
    local_background_rms: float = 0.0005
    #: physical filter whose standard passband defines the stars' reference magnitude.
    reference_filter: str = "HSC-I"
    #: temperature grid size of the built-in stellar model.
    n_templates: int = 160
    #: instrument throughput file or directory (CONTRACT.md format); None = the embedded HSC curves.
    throughput: str | None = None
    #: overrides of the preset: bands ([] = the preset's), visits, nights, stars per square degree.
    bands: list[str] = dataclasses.field(default_factory=list)
    n_visits: int | None = None
    n_nights: int | None = None
    star_density: float | None = None

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        def need(ok: bool, field: str, what: str) -> None:
            if not ok:
                raise FgcmDbError(f"[simulate] {field} = {getattr(self, field)!r}: {what}")

        need(-90.0 <= self.field_dec <= 90.0, "field_dec", "must be within [-90, 90] degrees")
        need(0.0 < self.max_hour_angle_deg <= 90.0, "max_hour_angle_deg", "must be in (0, 90] degrees")
        need(0.0 <= self.floor_mag < 0.1, "floor_mag", "must be in [0, 0.1) mag")
        need(0.0 <= self.nonphotometric_fraction <= 1.0, "nonphotometric_fraction", "must be in [0, 1]")
        need(0.0 < self.gray_min_mag <= self.gray_max_mag <= 5.0, "gray_min_mag",
             "need 0 < gray_min_mag <= gray_max_mag <= 5 mag")
        need(0.0 <= self.qe_rms < 0.2, "qe_rms", "must be in [0, 0.2)")
        need(0.0 <= self.edge_shift_rms_nm < 20.0, "edge_shift_rms_nm", "must be in [0, 20) nm")
        need(0.0 <= self.decline_mag_per_day < 0.01, "decline_mag_per_day", "must be in [0, 0.01) mag/day")
        need(0.0 <= self.variable_fraction <= 1.0, "variable_fraction", "must be in [0, 1]")
        need(0.0 <= self.blend_fraction <= 0.5, "blend_fraction", "must be in [0, 0.5]")
        need(0 <= self.n_sky_per_detector <= 1000, "n_sky_per_detector", "must be in [0, 1000]")
        need(0.0 <= self.local_background_rms < 0.1, "local_background_rms", "must be in [0, 0.1)")
        need(10 <= self.n_templates <= 2000, "n_templates", "must be in [10, 2000]")
        need(self.n_visits is None or self.n_visits >= 1, "n_visits", "must be at least 1")
        need(self.n_nights is None or self.n_nights >= 1, "n_nights", "must be at least 1")
        need(self.star_density is None or self.star_density > 0, "star_density", "must be positive")
