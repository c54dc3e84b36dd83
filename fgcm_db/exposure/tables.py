"""Rows that calibrate-exposure writes: the sources in the sourceTable_visit layout, their calibration
extras, the astrometric matches and the exposure_calibration row (Arrow tables / named parameters)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pyarrow as pa

from .. import __version__
from ..columns import SOURCE_COLUMNS
from ..configs.exposure import ExposureConfig
from .detect import APERTURE_RADII, FLAG_BITS
from .io import Exposure, RefCatalog
from .photocal import MAG_PER_LN
from .pipeline import Outcome, Request

#: sourceId = exposure_id * SOURCE_ID_STRIDE + row + 1
SOURCE_ID_STRIDE = 2**20
CALIB_FLUX_DEF = "apFlux_12_0"

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


def with_source_file(table: pa.Table, path: str) -> pa.Table:
    """``table`` plus the `sources` bookkeeping columns source_file and source_row."""
    n = table.num_rows
    return table.append_column("source_file", pa.array([path] * n, pa.string())).append_column(
        "source_row", pa.array(np.arange(n), pa.int64()))
