"""Configuration of the `calibrate-exposure` stage (the `[exposure]` section of a config file).

Sub-sections: ``[exposure.detection]``, ``[exposure.astrometry]``, ``[exposure.photocal]`` and
``[exposure.color_terms.<band>]``. Defaults follow LSST's CalibrateTask where sensible (see
CALIBRATE_EXPOSURE.md section 5.2).
"""

from __future__ import annotations

import dataclasses

from ..errors import FgcmDbError
from .ingest import HSC_FILTER_TO_BAND
from .stars import ColorTerm

#: characterisation-catalog fields calibrate-exposure can copy (LSST icSourceFieldsToCopy)
ICSRC_FIELDS = ("calib_psf_candidate", "calib_psf_used", "calib_psf_reserved")


@dataclasses.dataclass
class DetectionConfig:
    """Background, detection and measurement."""

    #: detection threshold in standard deviations of the PSF-smoothed image (LSST semantics)
    threshold: float = 5.0
    #: minimum number of connected pixels above threshold
    min_area: int = 5
    #: deblending: number of sub-thresholds and minimum contrast (SExtractor semantics)
    deblend_nthresh: int = 32
    deblend_cont: float = 0.005
    #: background mesh size, pixels
    background_bin: int = 128
    #: radius within which mask bits flag a source, in units of the PSF FWHM
    flag_radius_fwhm: float = 1.0
    #: inner and outer radius of the local-background annulus, pixels
    local_background_annulus: tuple[float, float] = (20.0, 30.0)
    #: PSF FWHM, arcsec, used when the IMAGE header has no PSF_FWHM (None: estimate from the image)
    psf_fwhm_arcsec: float | None = None
    #: sources whose half-light radius exceeds this factor times the PSF's get extendedness 1
    extended_radius_factor: float = 1.25
    #: number of blank-sky measurements (sky sources) and their radius, pixels
    n_sky_sources: int = 100
    sky_source_radius: float = 8.0
    #: seed of the random stream that places sky sources (combined with the exposure id)
    seed: int = 1


@dataclasses.dataclass
class AstrometryConfig:
    """Pattern match against the reference catalog and TAN-SIP fit."""

    #: minimum S/N (calibration aperture) of sources used for astrometry
    min_snr: float = 10.0
    #: brightest sources / references used by the initial pattern match
    n_bright: int = 200
    #: largest shift (pixels) and rotation (degrees) of the true WCS from the starting one
    max_offset_pix: float = 250.0
    max_rotation_deg: float = 1.0
    #: rotation step of the offset vote, degrees, and its offset histogram bin, pixels
    rotation_step_deg: float = 0.1
    vote_bin_pix: float = 4.0
    #: the vote peak must exceed the mean bin count by this many Poisson sigmas
    min_vote_significance: float = 7.0
    #: match-count gates: at least min_matched_pairs and min_frac_matched of min(candidates, refs on chip)
    min_matched_pairs: int = 30
    min_frac_matched: float = 0.3
    #: SIP polynomial order (1 = pure TAN); lowered automatically when coverage is poor
    sip_order: int = 3
    #: matches needed per fitted coefficient pair before an order is allowed
    min_matches_per_term: float = 3.0
    #: coverage gates: every chip quadrant holds >= min_per_quadrant matches, or the convex hull of the
    #: matches covers >= min_hull_fraction of the chip; SIP orders >= 2 need both
    min_per_quadrant: int = 3
    min_hull_fraction: float = 0.5
    #: sigma clipping of the fit residuals (radial, two-sided) and number of match/fit iterations
    clip_sigma: float = 3.0
    n_iter: int = 3
    #: re-match radius = max(min_match_radius_pix, match_radius_rms_factor * fit RMS)
    min_match_radius_pix: float = 1.0
    match_radius_rms_factor: float = 5.0
    #: post-fit gates, arcsec: mean match distance and median scatter
    max_mean_distance_arcsec: float = 0.5
    max_scatter_arcsec: float = 10.0
    #: centroid error floor used to weight the fit, pixels
    centroid_err_floor_pix: float = 0.02


@dataclasses.dataclass
class PhotocalConfig:
    """Photometric zero-point against the reference catalog."""

    #: source-reference match radius after the WCS fit, arcsec (LSST: 0.25)
    match_radius_arcsec: float = 0.5
    #: minimum S/N of calibration stars
    min_snr: float = 10.0
    #: reference magnitude limits (AB mag; None: no limit)
    ref_mag_bright: float | None = None
    ref_mag_faint: float | None = None
    #: clipping: keep |dmag - centre| < n_sigma * min(sigma, sigma_max), at most n_iter iterations
    n_sigma: float = 3.0
    sigma_max: float = 0.25
    n_iter: int = 20
    #: added in quadrature to every star's magnitude error, mag
    mag_err_floor: float = 0.0
    #: systematic floor added in quadrature to the formal zero-point error in zp_err_total, mag
    zp_sys_floor: float = 0.002
    #: fewest stars for a zero-point
    min_stars: int = 10
    #: fraction of calibration stars held out (calib_photometry_reserved) and its seed
    reserve_fraction: float = 0.0
    reserve_seed: int = 1
    #: apply the colour term of the band from [exposure.color_terms]
    apply_color_terms: bool = False


@dataclasses.dataclass
class ExposureConfig:
    """Settings of `calibrate-exposure`; every field documents its unit and default."""

    detection: DetectionConfig = dataclasses.field(default_factory=DetectionConfig)
    astrometry: AstrometryConfig = dataclasses.field(default_factory=AstrometryConfig)
    photocal: PhotocalConfig = dataclasses.field(default_factory=PhotocalConfig)
    #: colour terms keyed by band, e.g. [exposure.color_terms.r] primary = "r" secondary = "i" c1 = 0.02
    color_terms: dict[str, ColorTerm] = dataclasses.field(default_factory=dict)
    #: physical filter (FITS FILTER keyword) to band, used when --band is not given
    filter_to_band: dict[str, str] = dataclasses.field(default_factory=lambda: dict(HSC_FILTER_TO_BAND))
    #: fields copied from the characterisation catalog (--icsrc), a subset of the three defaults
    icsrc_fields: list[str] = dataclasses.field(default_factory=lambda: [
        "calib_psf_candidate", "calib_psf_used", "calib_psf_reserved"])
    #: characterisation-source to source match radius, pixels (LSST matchRadiusPix)
    icsrc_match_radius_pix: float = 3.0
    #: write the astrometric matches to the astrom_matches table
    write_matches: bool = True
    #: fail (exit 3) when astrometry / photometric calibration fails; otherwise record the status
    require_astrometry: bool = True
    require_photocal: bool = True

    def validate(self) -> None:
        """Raise FgcmDbError naming the field when a value is out of range."""
        d, a, p = self.detection, self.astrometry, self.photocal
        positive = {
            "detection.threshold": d.threshold, "detection.background_bin": d.background_bin,
            "detection.flag_radius_fwhm": d.flag_radius_fwhm, "detection.sky_source_radius": d.sky_source_radius,
            "astrometry.n_bright": a.n_bright, "astrometry.max_offset_pix": a.max_offset_pix,
            "astrometry.rotation_step_deg": a.rotation_step_deg, "astrometry.vote_bin_pix": a.vote_bin_pix,
            "astrometry.min_matched_pairs": a.min_matched_pairs, "astrometry.clip_sigma": a.clip_sigma,
            "astrometry.n_iter": a.n_iter, "astrometry.max_mean_distance_arcsec": a.max_mean_distance_arcsec,
            "photocal.match_radius_arcsec": p.match_radius_arcsec, "photocal.n_sigma": p.n_sigma,
            "photocal.sigma_max": p.sigma_max, "photocal.n_iter": p.n_iter, "photocal.min_stars": p.min_stars,
        }
        for key, value in positive.items():
            if not value > 0:
                raise FgcmDbError(f"configuration: exposure.{key} must be > 0, got {value!r}")
        if d.min_area < 1:
            raise FgcmDbError(f"configuration: exposure.detection.min_area must be >= 1, got {d.min_area}")
        inner, outer = d.local_background_annulus
        if not 0 < inner < outer:
            raise FgcmDbError("configuration: exposure.detection.local_background_annulus must be (inner, outer) "
                              "with 0 < inner < outer, pixels")
        if d.psf_fwhm_arcsec is not None and d.psf_fwhm_arcsec <= 0:
            raise FgcmDbError("configuration: exposure.detection.psf_fwhm_arcsec must be > 0 or unset")
        if not 0 <= a.max_rotation_deg <= 30:
            raise FgcmDbError("configuration: exposure.astrometry.max_rotation_deg must be in [0, 30] degrees")
        if a.sip_order not in (1, 2, 3, 4, 5):
            raise FgcmDbError(f"configuration: exposure.astrometry.sip_order must be 1..5, got {a.sip_order}")
        if not 0 < a.min_frac_matched <= 1 or not 0 < a.min_hull_fraction <= 1:
            raise FgcmDbError("configuration: exposure.astrometry.min_frac_matched and min_hull_fraction "
                              "must be in (0, 1]")
        if not 0 <= p.reserve_fraction < 1:
            raise FgcmDbError(f"configuration: exposure.photocal.reserve_fraction must be in [0, 1), "
                              f"got {p.reserve_fraction}")
        if p.mag_err_floor < 0 or p.zp_sys_floor < 0:
            raise FgcmDbError("configuration: exposure.photocal.mag_err_floor and zp_sys_floor must be >= 0")
        if (p.ref_mag_bright is not None and p.ref_mag_faint is not None
                and p.ref_mag_bright >= p.ref_mag_faint):
            raise FgcmDbError("configuration: exposure.photocal.ref_mag_bright must be brighter (smaller) "
                              "than ref_mag_faint")
        for band, term in self.color_terms.items():
            if not term.primary or not term.secondary:
                raise FgcmDbError(f"configuration: exposure.color_terms.{band} needs primary and secondary "
                                  "reference bands")
        unknown = sorted(set(self.icsrc_fields) - set(ICSRC_FIELDS))
        if unknown:
            raise FgcmDbError(f"configuration: exposure.icsrc_fields has unknown field(s) {', '.join(unknown)}; "
                              f"known: {', '.join(ICSRC_FIELDS)}")
        if self.icsrc_match_radius_pix <= 0:
            raise FgcmDbError("configuration: exposure.icsrc_match_radius_pix must be > 0 pixels")
        if p.apply_color_terms and not self.color_terms:
            raise FgcmDbError("configuration: exposure.photocal.apply_color_terms is true but "
                              "[exposure.color_terms.<band>] defines none")
