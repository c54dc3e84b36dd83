"""`fgcm-db calibrate-exposure`: detect, measure, fit the WCS and the zero-point of one exposure.

:func:`calibrate` does the numerics on in-memory inputs (no storage); :func:`run_calibrate_exposure`
validates every input first (exit 2 on bad input), runs it, and writes in ONE transaction the
``exposure_calibration`` row, the sources (``sources`` in the sourceTable_visit layout plus
``exposure_sources`` extras) and the astrometric matches. Optional files (``--out-sources`` parquet,
``--out-fits``) are written to temporary names first and renamed only after the database commit.
A calibration that fails while required records a status row (WCS and zero-point NULL, no sources)
and exits with status 3; with ``--allow-astrometry-failure`` / ``--allow-photocal-failure`` the run
completes and the status says what failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from .. import __version__
from ..columns import SOURCE_COLUMNS
from ..config import load_config
from ..configs.exposure import ExposureConfig
from ..db import Database
from ..progress import say
from .astrometry import AstrometryResult, solve_astrometry
from .detect import APERTURE_RADII, FLAG_BITS, Measurement, detect_and_measure
from .errors import AstrometryError, InputError, PhotoCalError
from .icsrc import copy_icsrc, read_icsrc
from .io import Exposure, RefCatalog, read_exposure, read_refcat
from .photocal import MAG_PER_LN, PhotoCalResult, calibrate_photometry
from .wcsfit import TanSip

log = logging.getLogger(__name__)

#: sourceId = exposure_id * SOURCE_ID_STRIDE + row + 1
SOURCE_ID_STRIDE = 2**20
CALIB_FLUX_DEF = "apFlux_12_0"


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


# ------------------------------------------------------------------------------------------------
# Tables
# ------------------------------------------------------------------------------------------------
_ARROW = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}
_INT32 = {"detector", "deblend_nChild"}


def sources_table(out: Outcome, req: Request) -> pa.Table:
    """The sources in the sourceTable_visit layout: every CONTRACT.md column (fgcm_db.columns), nulls
    where we do not measure (PSF fluxes, parents)."""
    m = out.measurement
    n = len(m)
    flags = m.flags
    rows = np.arange(n)
    ra = dec = None
    if out.wcs is not None:
        ra, dec = out.wcs.pixel_to_sky(m.x, m.y)
    r12, r17 = APERTURE_RADII
    any_bits_flag = {name: (flags & (1 << FLAG_BITS[name])) != 0 for name in FLAG_BITS}
    values = {
        "sourceId": req.exposure_id * SOURCE_ID_STRIDE + rows + 1,
        "visit": np.full(n, req.visit), "detector": np.full(n, req.detector),
        "band": [req.band] * n, "physical_filter": [req.physical_filter] * n,
        "coord_ra": ra, "coord_dec": dec, "x": m.x + req.xy0[0], "y": m.y + req.xy0[1],
        "apFlux_12_0_instFlux": m.flux[r12], "apFlux_12_0_instFluxErr": m.flux_err[r12],
        "apFlux_12_0_flag": m.ap_flag[r12],
        "apFlux_17_0_instFlux": m.flux[r17], "apFlux_17_0_instFluxErr": m.flux_err[r17],
        "apFlux_17_0_flag": m.ap_flag[r17],
        "localBackground_instFlux": m.local_bkg, "localBackground_flag": m.local_bkg_flag,
        "extendedness": m.extendedness,
        "pixelFlags_saturatedCenter": m.center_sat, "pixelFlags_interpolatedCenter": m.center_interp,
        "pixelFlags_edge": any_bits_flag["edge"], "pixelFlags_cr": any_bits_flag["cr"],
        "pixelFlags_bad": any_bits_flag["bad"], "pixelFlags_crCenter": m.center_cr,
        "pixelFlags_interpolated": any_bits_flag["interp"], "pixelFlags_saturated": any_bits_flag["sat"],
        "centroid_flag": any_bits_flag["centroid"], "detect_isPrimary": ~m.sky_source,
        "sky_source": m.sky_source, "deblend_nChild": np.zeros(n, np.int32), "parentSourceId": None,
        "calib_psf_candidate": out.icsrc_fields.get("calib_psf_candidate"),
        "psfFlux": None, "psfFluxErr": None, "psfFlux_flag": None,
        "ixx": m.ixx, "iyy": m.iyy, "ixy": m.ixy,
    }
    arrays, names = [], []
    for col in SOURCE_COLUMNS:
        typ = pa.int32() if col.name in _INT32 else _ARROW[col.kind]
        v = values.get(col.name)
        if v is None:
            arrays.append(pa.nulls(n, typ))
        elif col.kind == "float":
            v = np.asarray(v, dtype=np.float64)
            arrays.append(pa.array(v, typ, mask=~np.isfinite(v)))
        else:
            arrays.append(pa.array(v if isinstance(v, list) else np.asarray(v), typ))
        names.append(col.name)
    return pa.Table.from_arrays(arrays, names=names)


def extras_table(out: Outcome, req: Request) -> pa.Table:
    """Per-source calibration extras (exposure_sources)."""
    m = out.measurement
    n = len(m)
    astrom_used = np.zeros(n, bool)
    if out.astrometry is not None:
        astrom_used[out.astrometry.src_index[out.astrometry.used]] = True
    phot_used, reserved = np.zeros(n, bool), np.zeros(n, bool)
    mag = mag_err = np.full(n, np.nan)
    if out.photocal is not None:
        phot_used[out.photocal.src_index[out.photocal.used]] = True
        reserved[out.photocal.src_index[out.photocal.reserved]] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(m.calib_flux > 0, out.photocal.zp.zp - 2.5 * np.log10(m.calib_flux), np.nan)
            mag_err = np.where(m.calib_flux > 0, MAG_PER_LN * m.calib_flux_err / m.calib_flux, np.nan)

    def f(v):
        v = np.asarray(v, dtype=np.float64)
        return pa.array(v, pa.float64(), mask=~np.isfinite(v))

    def opt_bool(name):
        v = out.icsrc_fields.get(name)
        return pa.nulls(n, pa.bool_()) if v is None else pa.array(v, pa.bool_())

    return pa.table({
        "exposure_id": pa.array(np.full(n, req.exposure_id), pa.int64()),
        "sourceId": pa.array(req.exposure_id * SOURCE_ID_STRIDE + np.arange(n) + 1, pa.int64()),
        "flags": pa.array(m.flags.astype(np.int32)), "snr": f(m.snr),
        "calib_astrometry_used": pa.array(astrom_used), "calib_photometry_used": pa.array(phot_used),
        "calib_photometry_reserved": pa.array(reserved), "calib_detected": pa.array(out.calib_detected),
        "calib_psf_used": opt_bool("calib_psf_used"), "calib_psf_reserved": opt_bool("calib_psf_reserved"),
        "mag": f(mag), "mag_err": f(mag_err), "a": f(m.a), "b": f(m.b), "theta": f(m.theta),
        "npix": pa.array(m.npix.astype(np.int32)), "peak": f(m.peak), "half_light_radius": f(m.half_light_radius),
    })


def matches_table(out: Outcome, req: Request, refs: RefCatalog) -> pa.Table:
    """Astrometric matches (astrom_matches); empty without a fitted WCS."""
    a = out.astrometry
    if a is None:
        idx = np.zeros(0, np.int64)
        return pa.table({"exposure_id": pa.array(idx), "sourceId": pa.array(idx), "ref_id": pa.array(idx),
                         "separation_arcsec": pa.array(idx, pa.float64()), "dra_arcsec": pa.array(idx, pa.float64()),
                         "ddec_arcsec": pa.array(idx, pa.float64()), "used": pa.array(idx.astype(bool))})
    return pa.table({
        "exposure_id": pa.array(np.full(len(a.src_index), req.exposure_id), pa.int64()),
        "sourceId": pa.array(req.exposure_id * SOURCE_ID_STRIDE + a.src_index + 1, pa.int64()),
        "ref_id": pa.array(refs.ref_id[a.ref_index], pa.int64()),
        "separation_arcsec": pa.array(a.separation), "dra_arcsec": pa.array(a.dra), "ddec_arcsec": pa.array(a.ddec),
        "used": pa.array(a.used),
    })


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def wcs_header_text(wcs) -> str | None:
    """The WCS as FITS header text: 80-character cards separated by newlines."""
    return None if wcs is None else wcs.to_header().tostring(sep="\n").rstrip()


def calibration_row(out: Outcome, req: Request, exp: Exposure, refs: RefCatalog, cfg: ExposureConfig,
                    run_id: int, write_products: bool) -> dict:
    """Named parameters of exposure_calibration for this outcome (no WCS/zero-point unless written)."""
    a = out.astrometry if write_products else None
    p = out.photocal if write_products else None
    wcs = out.wcs if write_products else None
    m = out.measurement
    detail = None
    if out.error is not None:
        detail = json.dumps({"error": type(out.error).__name__, "message": str(out.error),
                             **getattr(out.error, "diagnostics", {})})
    term = p.color_term if p is not None else None
    zp = p.zp if p is not None else None
    magzero = zp.zp - 2.5 * np.log10(exp.exptime) if zp is not None and exp.exptime else None
    return {
        "exposure_id": req.exposure_id, "run_id": run_id, "status": out.status, "status_detail": detail,
        "visit": req.visit, "detector": req.detector, "band": req.band, "physical_filter": req.physical_filter,
        "exposure_file": str(req.exposure_path), "refcat_file": str(req.refcat_path), "refcat_sha256": refs.sha256,
        "wcs_header": wcs_header_text(wcs), "wcs_order": wcs.order if wcs is not None else None,
        "wcs_source": out.wcs_source if wcs is not None else None,
        "n_astrom_candidates": a.n_candidates if a else None,
        "n_astrom_match": len(a.src_index) if a else None, "n_astrom_used": int(a.used.sum()) if a else None,
        "astrom_rms_arcsec": _num(a.rms) if a else None, "astrom_rms_ra_arcsec": _num(a.rms_ra) if a else None,
        "astrom_rms_dec_arcsec": _num(a.rms_dec) if a else None,
        "astrom_offset_mean_arcsec": _num(a.offset_mean) if a else None,
        "astrom_offset_std_arcsec": _num(a.offset_std) if a else None,
        "astrom_hull_fraction": _num(a.hull_fraction) if a else None,
        "init_shift_x_pix": a.shift_x_pix if a else None, "init_shift_y_pix": a.shift_y_pix if a else None,
        "init_rotation_deg": a.rotation_deg if a else None,
        "zp_mag": zp.zp if zp else None, "zp_err": zp.err if zp else None,
        "zp_err_total": float(np.hypot(zp.err, cfg.photocal.zp_sys_floor)) if zp else None,
        "zp_scatter": zp.scatter if zp else None, "n_zp": zp.n if zp else None,
        "n_zp_matched": p.counts["n_matched"] if p else None, "n_zp_reserved": p.counts["n_reserved"] if p else None,
        "magzero": _num(magzero) if magzero is not None else None, "exptime": exp.exptime,
        "colorterm_primary": term.primary if term else None, "colorterm_secondary": term.secondary if term else None,
        "colorterm_c0": term.c0 if term else None, "colorterm_c1": term.c1 if term else None,
        "colorterm_c2": term.c2 if term else None, "calib_flux_def": CALIB_FLUX_DEF,
        "psf_fwhm_arcsec": m.psf_fwhm_pix * exp.pixel_scale_arcsec, "psf_fwhm_source": m.psf_fwhm_source,
        "background_mean": m.background_mean, "background_rms": m.background_rms,
        "n_sources": int((~m.sky_source).sum()) if write_products else 0,
        "n_sky_sources": int(m.sky_source.sum()) if write_products else 0,
        "software_version": __version__, "config_hash": config_hash(cfg),
        "timings": json.dumps({k: round(v, 4) for k, v in out.timings.items()}),
        "warnings": json.dumps(out.warnings),
    }


def config_hash(cfg: ExposureConfig) -> str:
    return hashlib.sha256(json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------
_WCS_KEY = re.compile(r"^(WCSAXES|CRPIX\d|CRVAL\d|CTYPE\d|CUNIT\d|CDELT\d|CROTA\d|CD\d_\d|PC\d_\d|LONPOLE|LATPOLE|"
                      r"RADESYS|EQUINOX|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|"
                      r"A_DMAX|B_DMAX)$")


def write_calibrated_fits(src: Path, dest: Path, out: Outcome, exp: Exposure) -> None:
    """Copy the exposure with the fitted WCS in every plane and MAGZERO keys in the IMAGE header."""
    wcs_cards = out.wcs.to_header() if out.wcs is not None else fits.Header()
    with fits.open(src, memmap=False) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # MAGZERO_RMS/_NOBJ are HIERARCH cards, as in LSST
        for hdu in hdul:
            if str(hdu.header.get("EXTNAME", hdu.header.get("EXTTYPE", ""))).strip().upper() not in (
                    "IMAGE", "MASK", "VARIANCE"):
                continue
            for key in [k for k in hdu.header if _WCS_KEY.match(k)]:
                del hdu.header[key]
            hdu.header.update(wcs_cards)
            if str(hdu.header.get("EXTNAME", hdu.header.get("EXTTYPE", ""))).strip().upper() == "IMAGE" \
                    and out.photocal is not None:
                zp = out.photocal.zp
                if exp.exptime:
                    hdu.header["MAGZERO"] = (zp.zp - 2.5 * np.log10(exp.exptime), "mag of 1 count/s")
                hdu.header["MAGZERO_RMS"] = (zp.err, "formal error of the zero-point, mag")
                hdu.header["MAGZERO_NOBJ"] = (zp.n, "stars in the zero-point")
                hdu.header["ZP_MAG"] = (zp.zp, "AB mag of 1 count")
                hdu.header["ZP_ERR"] = (zp.err, "formal zero-point error, mag")
                hdu.header["ZP_SCAT"] = (zp.scatter, "star-to-star zero-point scatter, mag")
        hdul.writeto(dest, overwrite=True)


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------
def resolve_request(args: argparse.Namespace, exp: Exposure, cfg: ExposureConfig) -> Request:
    """Band, physical filter, visit, detector and exposure id from the options, else the header."""
    band = args.band
    if band is None and exp.filter_name:
        band = cfg.filter_to_band.get(exp.filter_name, exp.filter_name if len(exp.filter_name) <= 2 else None)
    if not band:
        raise InputError(f"{exp.path}: cannot resolve the band: the header FILTER is "
                         f"{exp.filter_name or 'absent'} and not in [exposure] filter_to_band; pass --band")
    physical = getattr(args, "physical_filter", None) or exp.filter_name or band
    visit = args.visit if args.visit is not None else exp.visit
    detector = args.detector if args.detector is not None else exp.detector
    if visit is None or detector is None:
        missing = " and ".join(n for n, v in (("--visit", visit), ("--detector", detector)) if v is None)
        raise InputError(f"{exp.path}: the header has no VISIT/DETECTOR keywords; pass {missing}")
    exposure_id = getattr(args, "exposure_id", None)
    if exposure_id is None:
        if not 0 <= detector < 1000:
            raise InputError(f"detector {detector} is outside 0..999; pass --exposure-id")
        exposure_id = visit * 1000 + detector
    if not 0 <= exposure_id < 2**42:
        raise InputError(f"exposure id {exposure_id} must be in [0, 2^42) so that source ids fit in 64 bits")
    return Request(exposure_path=exp.path, refcat_path=Path(args.refcat), band=band, physical_filter=physical,
                   visit=int(visit), detector=int(detector), exposure_id=int(exposure_id),
                   do_astrometry=not getattr(args, "no_astrometry", False),
                   do_photocal=not getattr(args, "no_photocal", False),
                   icsrc_path=Path(args.icsrc) if getattr(args, "icsrc", None) else None, xy0=exp.xy0)


def load_refs(exp: Exposure, req: Request, cfg: ExposureConfig) -> RefCatalog:
    """References within the starting-WCS footprint padded by max_offset_pix, with the band (and
    colour-term) magnitudes; InputError when a colour term is requested but not configured."""
    ny, nx = exp.shape
    ra_c, dec_c = (float(v) for v in exp.wcs.all_pix2world((nx - 1) / 2.0, (ny - 1) / 2.0, 0))
    half_diag_pix = 0.5 * np.hypot(nx, ny) + cfg.astrometry.max_offset_pix
    radius = 1.2 * half_diag_pix * exp.pixel_scale_arcsec / 3600.0 + 10.0 / 3600.0
    term = cfg.color_terms.get(req.band) if cfg.photocal.apply_color_terms else None
    if cfg.photocal.apply_color_terms and term is None:
        raise InputError(f"colour terms requested (photocal.apply_color_terms) but [exposure.color_terms] has none "
                         f"for band {req.band}; defined: {', '.join(cfg.color_terms) or 'none'}")
    extra = (term.primary, term.secondary) if term is not None else ()
    return read_refcat(req.refcat_path, req.band, ra_c, dec_c, radius, extra_bands=extra, mjd=exp.mjd,
                       need_photometry=req.do_photocal and term is None)


def run_calibrate_exposure(args: argparse.Namespace) -> int:
    """The `calibrate-exposure` command: returns 0, or raises FgcmDbError (exit 2) / CalibrationError (exit 3)."""
    t0 = time.perf_counter()
    overrides: dict = {"exposure": {}}
    if getattr(args, "allow_astrometry_failure", False):
        overrides["exposure"]["require_astrometry"] = False
    if getattr(args, "allow_photocal_failure", False):
        overrides["exposure"]["require_photocal"] = False
    if getattr(args, "psf_fwhm", None) is not None:
        overrides["exposure"]["detection"] = {"psf_fwhm_arcsec": args.psf_fwhm}
    config = load_config(args.config, overrides)
    cfg = config.exposure
    warn: list[str] = []
    t = time.perf_counter()
    exp = read_exposure(args.exposure, mask_bad_variance=getattr(args, "mask_bad_variance", False), warn=warn)
    req = resolve_request(args, exp, cfg)
    refs = load_refs(exp, req, cfg)
    icsrc = read_icsrc(req.icsrc_path, cfg.icsrc_fields) if req.icsrc_path else None
    t_read = time.perf_counter() - t
    for path, label in ((getattr(args, "out_sources", None), "--out-sources"), (args.out_fits, "--out-fits")):
        if path and not Path(path).parent.is_dir():
            raise InputError(f"{label} {path}: directory {Path(path).parent} does not exist")

    with Database(args.db) as db:
        n_foreign = db.execute("exposure_foreign_sources", {"visit": req.visit, "detector": req.detector,
                                                             "exposure_id": req.exposure_id}).fetchone()[0]
        if n_foreign:
            raise InputError(f"{args.db}: `sources` already holds {n_foreign} rows of visit {req.visit} detector "
                             f"{req.detector} not written by calibrate-exposure of exposure {req.exposure_id}; "
                             "remove them or use another --visit/--detector")
        out = calibrate(exp, refs, req, cfg, icsrc, warn)
        out.timings = {"read": t_read, **out.timings}
        fatal = out.error is not None and (
            (out.status == "astrometry_failed" and cfg.require_astrometry)
            or (out.status == "photocal_failed" and cfg.require_photocal))
        tmp_files = []
        try:
            if not fatal:
                tmp_files = _write_files(args, out, req, exp)
            t = time.perf_counter()
            with db.stage("calibrate-exposure", {**config.to_dict()["exposure"], "exposure": str(exp.path),
                                                 "refcat": str(req.refcat_path)}) as run_id:
                for name in ("exposure_delete_sources", "exposure_delete_source_extras", "exposure_delete_matches",
                             "exposure_delete_calibration"):
                    db.execute(name, {"exposure_id": req.exposure_id})
                if not fatal:
                    db.con.register("exposure_sources_in", _with_file(sources_table(out, req), str(exp.path)))
                    db.con.register("exposure_extras_in", extras_table(out, req))
                    db.con.register("exposure_matches_in", matches_table(out, req, refs))
                    db.execute("exposure_insert_sources")
                    db.execute("exposure_insert_source_extras")
                    if cfg.write_matches:
                        db.execute("exposure_insert_matches")
                out.timings["write"] = time.perf_counter() - t
                out.timings["total"] = time.perf_counter() - t0
                db.execute("exposure_insert_calibration",
                           calibration_row(out, req, exp, refs, cfg, run_id, write_products=not fatal))
            if fatal:
                db.end_run(run_id, "failed", f"{type(out.error).__name__}: {out.error}"[:2000])
        except BaseException:
            for tmp, _ in tmp_files:
                tmp.unlink(missing_ok=True)
            raise
        finally:
            for name in ("exposure_sources_in", "exposure_extras_in", "exposure_matches_in"):
                try:
                    db.con.unregister(name)
                except Exception:  # never registered
                    pass
    for tmp, dest in tmp_files:
        os.replace(tmp, dest)
    if fatal:
        raise out.error
    _report(out, req)
    return 0


def _with_file(table: pa.Table, path: str) -> pa.Table:
    n = table.num_rows
    return table.append_column("source_file", pa.array([path] * n, pa.string())).append_column(
        "source_row", pa.array(np.arange(n), pa.int64()))


def _write_files(args, out: Outcome, req: Request, exp: Exposure) -> list[tuple[Path, Path]]:
    """Write the optional output files under temporary names; returns (temporary, final) pairs."""
    written = []
    out_sources = getattr(args, "out_sources", None)
    if out_sources:
        dest = Path(out_sources)
        tmp = dest.with_name(f".{dest.name}.tmp")
        pq.write_table(sources_table(out, req), tmp)
        written.append((tmp, dest))
    if args.out_fits:
        dest = Path(args.out_fits)
        tmp = dest.with_name(f".{dest.name}.tmp")
        write_calibrated_fits(exp.path, tmp, out, exp)
        written.append((tmp, dest))
    return written


def _report(out: Outcome, req: Request) -> None:
    m = out.measurement
    parts = [f"exposure {req.exposure_id} (visit {req.visit}, detector {req.detector}, band {req.band}): "
             f"status {out.status}; {int((~m.sky_source).sum())} sources + {int(m.sky_source.sum())} sky sources"]
    a = out.astrometry
    if a is not None:
        parts.append(f"WCS order {a.order} from {int(a.used.sum())}/{len(a.src_index)} matches, "
                     f"rms {1e3 * a.rms_ra:.1f}/{1e3 * a.rms_dec:.1f} mas (ra/dec)")
    if out.photocal is not None:
        zp = out.photocal.zp
        parts.append(f"zp {zp.zp:.4f} +- {zp.err:.4f} mag (scatter {zp.scatter:.3f}, {zp.n} stars)")
    if out.error is not None:
        parts.append(f"{type(out.error).__name__}: {out.error}")
    say("; ".join(parts))
