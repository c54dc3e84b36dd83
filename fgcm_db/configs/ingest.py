"""Configuration of the `ingest` stage (the `[ingest]` section of a config file).

The source-selection defaults are fgcmcal's (``FgcmBuildStarsTableTask`` with its ``science`` source
selector; see FGCMCAL_PIPELINE.md section 1.3): every bad-measurement flag false, extendedness < 0.5,
10 < S/N < 1000, isolated parents (``parentSourceId == 0`` and ``deblend_nChild == 0``), no sky
sources, finite coordinates, and, when local-background subtraction is on, a positive
background-subtracted flux.
"""

from __future__ import annotations

import dataclasses
import re

from ..errors import FgcmDbError

#: Flag columns of ``sources`` that the selection may reject on (all optional in the input except the
#: five pixel flags of CONTRACT.md; an absent optional flag counts as false).
SELECTABLE_FLAGS = (
    "pixelFlags_edge", "pixelFlags_interpolatedCenter", "pixelFlags_saturatedCenter", "pixelFlags_crCenter",
    "pixelFlags_bad", "pixelFlags_interpolated", "pixelFlags_saturated", "pixelFlags_cr", "centroid_flag",
    "apFlux_12_0_flag", "apFlux_17_0_flag", "localBackground_flag", "psfFlux_flag",
)

#: Flux groups stored in ``sources`` that can serve as the calibration flux.
FLUX_FIELDS = ("apFlux_12_0", "apFlux_17_0", "psfFlux")

#: physical_filter -> band for HSC (obs_subaru's filter definitions): broad bands, the replacement
#: r and i filters (HSC-R2, HSC-I2), and the narrow/intermediate bands.
HSC_FILTER_TO_BAND = {
    "HSC-G": "g", "HSC-R": "r", "HSC-R2": "r", "HSC-I": "i", "HSC-I2": "i", "HSC-Z": "z", "HSC-Y": "y",
    "NB0387": "N387", "NB0400": "N400", "NB0468": "N468", "NB0515": "N515", "NB0527": "N527",
    "NB0656": "N656", "NB0718": "N718", "NB0816": "N816", "NB0921": "N921", "NB0926": "N926",
    "NB0973": "N973", "NB1010": "N1010", "IB0945": "I945",
}

_APERTURE_RE = re.compile(r"^apFlux_(\d+)_(\d+)$")


@dataclasses.dataclass
class IngestConfig:
    """Settings of the ingest stage; every field documents its unit and default."""

    #: Observatory preset (``fgcm_db.sites``): subaru, blanco or rubin. ``--site`` overrides it.
    site: str = "subaru"
    #: night = floor(mjd + ut_boundary_days), days; None takes the site's value.
    ut_boundary_days: float | None = None
    #: Calibration flux: ``<field>_instFlux`` / ``<field>_instFluxErr`` / ``<field>_flag`` of ``sources``.
    flux_field: str = "apFlux_12_0"
    #: Subtract pi r^2 * localBackground_instFlux from the calibration flux (fgcmcal's
    #: doSubtractLocalBackground, default False; its HSC test config turns it on). Needs an aperture flux.
    subtract_local_background: bool = False
    #: Flags that reject a source when true (fgcmcal's defaults; the flux flag of ``flux_field`` and, with
    #: background subtraction, ``localBackground_flag`` are added automatically).
    reject_flags: list[str] = dataclasses.field(default_factory=lambda: [
        "pixelFlags_edge", "pixelFlags_interpolatedCenter", "pixelFlags_saturatedCenter",
        "pixelFlags_crCenter", "pixelFlags_bad", "pixelFlags_interpolated", "pixelFlags_saturated",
        "centroid_flag",
    ])
    #: Keep sources with extendedness < this (0 point-like, 1 extended).
    max_extendedness: float = 0.5
    #: Keep sources with min_sn < flux/fluxErr < max_sn (strict, as fgcmcal).
    min_sn: float = 10.0
    max_sn: float = 1000.0
    #: Require isolated parents: parentSourceId == 0 (when present) and deblend_nChild == 0.
    require_isolated: bool = True
    #: Reject sky sources (sky_source true).
    reject_sky_sources: bool = True
    #: Keep NaN coordinates in ``sources`` (rejected by the selection) instead of refusing the file.
    allow_nan_coordinates: bool = False
    #: physical_filter -> band, used when the source table has no ``band`` column. Default: HSC.
    filter_to_band: dict[str, str] = dataclasses.field(default_factory=lambda: dict(HSC_FILTER_TO_BAND))
    #: Regular expression with named groups ``visit`` and ``detector`` applied to the names of src FITS
    #: files (default: LSST's butler file names, e.g. ``src_HSC_i_HSC-I_903986_0_31_HSC_runs_...fits``:
    #: visit 903986, detector 31).
    fits_name_pattern: str = r"^src_[^_]+_[^_]+_[^_]+_(?P<visit>\d+)_\d+_(?P<detector>\d+)_"
    #: DuckDB memory limit during ingest (DuckDB size string); larger intermediates spill to disk.
    memory_limit: str = "1GB"
    #: src FITS files read in parallel by this many threads.
    read_threads: int = 4

    def aperture_radius_px(self) -> float | None:
        """Radius of the calibration aperture in pixels, parsed from ``flux_field`` (None if not an aperture)."""
        m = _APERTURE_RE.match(self.flux_field)
        return float(f"{m.group(1)}.{m.group(2)}") if m else None

    def flux_column(self) -> str:
        """The ``sources`` column holding the calibration flux (counts)."""
        return "psfFlux" if self.flux_field == "psfFlux" else f"{self.flux_field}_instFlux"

    def effective_reject_flags(self) -> list[str]:
        """The configured flags plus the calibration flux's flag and, with background subtraction,
        ``localBackground_flag``."""
        flags = list(dict.fromkeys(self.reject_flags))
        extra = [f"{self.flux_field}_flag"] + (["localBackground_flag"] if self.subtract_local_background else [])
        return flags + [f for f in extra if f not in flags]

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        from ..sites import get_site

        get_site(self.site)
        if self.flux_field not in FLUX_FIELDS:
            raise FgcmDbError(f"[ingest] flux_field {self.flux_field!r} is not one of {', '.join(FLUX_FIELDS)}")
        if self.subtract_local_background and self.aperture_radius_px() is None:
            raise FgcmDbError(
                f"[ingest] subtract_local_background needs an aperture flux (apFlux_R_r), not {self.flux_field!r}"
            )
        unknown = [f for f in self.reject_flags if f not in SELECTABLE_FLAGS]
        if unknown:
            raise FgcmDbError(
                f"[ingest] reject_flags: unknown flag(s) {', '.join(unknown)}; known: {', '.join(SELECTABLE_FLAGS)}"
            )
        if not 0.0 < self.min_sn < self.max_sn:
            raise FgcmDbError("[ingest] need 0 < min_sn < max_sn")
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", self.memory_limit):
            raise FgcmDbError(f"[ingest] memory_limit {self.memory_limit!r} is not a size such as '1GB'")
        if self.read_threads < 1:
            raise FgcmDbError("[ingest] read_threads must be at least 1")
        try:
            pattern = re.compile(self.fits_name_pattern)
        except re.error as exc:
            raise FgcmDbError(f"[ingest] fits_name_pattern is not a valid regular expression: {exc}") from None
        if not {"visit", "detector"} <= set(pattern.groupindex):
            raise FgcmDbError("[ingest] fits_name_pattern needs named groups (?P<visit>...) and (?P<detector>...)")
        if not all(isinstance(b, str) and b for b in self.filter_to_band.values()):
            raise FgcmDbError("[ingest] filter_to_band values must be non-empty band names")
