"""The calibrate-exposure task on in-memory inputs: detect and measure, fit the WCS, fit the zero-point,
copy characterisation fields. It touches no storage (fgcm_db.exposure.calibrate does the I/O)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..configs.exposure import ExposureConfig
from .astrometry import AstrometryResult, solve_astrometry
from .detect import Measurement, detect_and_measure
from .errors import AstrometryError, PhotoCalError
from .icsrc import copy_icsrc
from .io import Exposure, RefCatalog
from .photocal import PhotoCalResult, calibrate_photometry
from .wcsfit import TanSip


@dataclasses.dataclass
class Request:
    """Resolved identifiers and options of one run."""

    exposure_path: Path
    refcat_path: Path
    band: str
    physical_filter: str
    visit: int
    detector: int
    exposure_id: int
    do_astrometry: bool = True
    do_photocal: bool = True
    icsrc_path: Path | None = None
    xy0: tuple[int, int] = (0, 0)  # detector pixel of the array origin (cutouts); added to x, y on output


class InputWcs:
    """The starting (astropy) WCS behind the TanSip interface, for --no-astrometry."""

    def __init__(self, wcs):
        self.wcs = wcs
        self.order = None

    def pixel_to_sky(self, x, y):
        return self.wcs.all_pix2world(x, y, 0)

    def sky_to_pixel(self, ra, dec):
        return self.wcs.all_world2pix(ra, dec, 0, quiet=True)

    def to_header(self) -> fits.Header:
        return self.wcs.to_header(relax=True)


@dataclasses.dataclass
class Outcome:
    """Everything :func:`calibrate` found; ``status`` is ok, astrometry_failed, photocal_failed or photocal_skipped."""

    status: str
    error: Exception | None
    measurement: Measurement
    astrometry: AstrometryResult | None
    wcs: TanSip | InputWcs | None
    photocal: PhotoCalResult | None
    calib_detected: np.ndarray
    icsrc_fields: dict[str, np.ndarray]
    timings: dict[str, float]
    warnings: list[str]

    @property
    def wcs_source(self) -> str | None:
        return None if self.wcs is None else "input" if isinstance(self.wcs, InputWcs) else "fitted"


def calibrate(exp: Exposure, refs: RefCatalog, req: Request, cfg: ExposureConfig,
              icsrc: dict[str, np.ndarray] | None = None, warn: list[str] | None = None) -> Outcome:
    """Detect, measure, fit the WCS and the zero-point of ``exp`` (no storage).

    Astrometric and photometric failures are returned in ``Outcome.error`` with the status; the caller
    decides whether they are fatal (``cfg.require_astrometry`` / ``require_photocal``).
    """
    warn = [] if warn is None else warn
    if exp.exptime is None and req.do_photocal:
        warn.append("EXPTIME missing or <= 0: magzero (zero-point per second) is NULL")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    m = detect_and_measure(exp, cfg.detection, req.exposure_id, warn)
    timings["detect_measure"] = time.perf_counter() - t
    usable = m.calib_usable()
    status, error, astrom, wcs, phot = "ok", None, None, None, None

    t = time.perf_counter()
    if req.do_astrometry:
        try:
            astrom = solve_astrometry(m.x, m.y, m.snr, usable, refs, exp.wcs, exp.shape, m.psf_fwhm_pix,
                                      exp.pixel_scale_arcsec, cfg.astrometry)
            wcs = astrom.wcs
            warn.extend(astrom.warnings)
        except AstrometryError as exc:
            status, error = "astrometry_failed", exc
    else:
        wcs = InputWcs(exp.wcs)
    timings["astrometry"] = time.perf_counter() - t

    t = time.perf_counter()
    if wcs is not None and req.do_photocal:
        term = cfg.color_terms.get(req.band) if cfg.photocal.apply_color_terms else None
        try:
            phot = calibrate_photometry(m.x, m.y, m.calib_flux, m.calib_flux_err, usable, refs, wcs,
                                        exp.pixel_scale_arcsec, req.band, cfg.photocal, term, req.exposure_id)
        except PhotoCalError as exc:
            status, error = "photocal_failed", exc
    elif wcs is not None:
        status = "photocal_skipped"
    timings["photocal"] = time.perf_counter() - t

    detected = np.zeros(len(m), bool)
    copied: dict[str, np.ndarray] = {}
    if icsrc is not None:
        detected, copied, conflicts = copy_icsrc(m.x + req.xy0[0], m.y + req.xy0[1], ~m.sky_source, icsrc,
                                                 cfg.icsrc_fields, cfg.icsrc_match_radius_pix)
        if conflicts:
            warn.append(f"{conflicts} characterisation sources claimed an already claimed source")
    return Outcome(status=status, error=error, measurement=m, astrometry=astrom, wcs=wcs, photocal=phot,
                   calib_detected=detected, icsrc_fields=copied, timings=timings, warnings=warn)
