"""`fgcm-db calibrate-exposure`: detect, measure, fit the WCS and the zero-point of one exposure.

:func:`fgcm_db.exposure.pipeline.calibrate` does the numerics on in-memory inputs (no storage);
:func:`run_calibrate_exposure`
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
import logging
import os
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from ..config import load_config
from ..configs.exposure import ExposureConfig
from ..db import Database
from ..progress import say
from .errors import InputError
from .icsrc import read_icsrc
from .io import Exposure, RefCatalog, read_exposure, read_refcat
from .pipeline import Outcome, Request, calibrate
from .tables import calibration_row, extras_table, matches_table, sources_table, with_source_file

log = logging.getLogger(__name__)


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
                    db.con.register("exposure_sources_in", with_source_file(sources_table(out, req), str(exp.path)))
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
