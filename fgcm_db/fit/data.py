"""Load once per cycle, from DuckDB, the columns the fit needs into numpy arrays (CycleInputs).

Observations come from ``star_obs`` x ``observations`` (sql/fit_observations.sql); every id becomes an
integer index (obs -> star, obs -> visit, obs -> detector). Per-star sec z uses the star's mean
position and the visit hour angle: ``HA_ij = HA_tel + RA_tel - RA_j`` (FGCM_ALGORITHM.md 1.6).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..astro import focal_plane_to_sky, hour_angle_deg, secant_zenith, wrap_180
from ..camera import HSC_PIXEL_SIZE_MM, Camera
from ..configs.fit import FitConfig
from ..errors import FgcmDbError
from ..photometry import ab_zeropoint_no_throughput
from ..sites import Site, get_site
from .inputs import CycleInputs
from .params import StandardAtmosphere


class LutPassbands:
    """The fit's view of :class:`fgcm_db.lut_table.LookUpTable` (see model.Passbands).

    The LUT gives exact derivatives of its own interpolant, so the fit uses them.
    """

    def __init__(self, lut):
        self.lut = lut

    def _evaluate(self, fi, di, ln_pwv, o3, ln_tau, alpha, secz, pmb):
        return self.lut.evaluate(fi, di, np.exp(ln_pwv), o3, np.exp(ln_tau), alpha, secz, pmb)

    def integrals(self, fi, di, ln_pwv, o3, ln_tau, alpha, secz, pmb):
        v = self._evaluate(fi, di, ln_pwv, o3, ln_tau, alpha, secz, pmb)
        return v.i0, v.i1

    def integrals_and_derivatives(self, fi, di, ln_pwv, o3, ln_tau, alpha, secz, pmb):
        v = self._evaluate(fi, di, ln_pwv, o3, ln_tau, alpha, secz, pmb)
        d0 = np.stack([v.di0_do3, v.di0_dalpha, v.di0_dlnpwv, v.di0_dlntau])
        d1 = np.stack([v.di1_do3, v.di1_dalpha, v.di1_dlnpwv, v.di1_dlntau])
        return v.i0, v.i1, d0, d1


def fetch(db, name: str, params: dict | None = None) -> dict[str, np.ndarray]:
    """Run ``sql/<name>.sql``; columns as numpy arrays (NULL -> NaN for numbers)."""
    table = db.fetch_arrow(name, params)
    out = {}
    for col in table.column_names:
        arr = table.column(col).combine_chunks()
        if pa.types.is_floating(arr.type) or (pa.types.is_integer(arr.type) and arr.null_count):
            arr = pc.fill_null(pc.cast(arr, pa.float64()), float("nan"))
        out[col] = arr.to_numpy(zero_copy_only=False)
    return out


def site_of(db) -> Site:
    """The observatory recorded at ingest (metadata 'site'), Subaru when absent."""
    recorded = db.get_metadata("site")
    if isinstance(recorded, dict):
        recorded = recorded.get("name")
    return get_site(str(recorded) if recorded else "subaru")


def standard_atmosphere(lut) -> StandardAtmosphere:
    """Standard values and ranges of the LUT."""
    st, ax = lut.standard, lut.axes
    lnpwv, o3, lntau = (np.asarray(ax[k], dtype=np.float64) for k in ("lnpwv", "o3", "lntau"))
    return StandardAtmosphere(
        pwv=float(st["pwv_mm"]), o3=float(st["o3_du"]), tau=float(st["tau"]), alpha=float(st["alpha"]),
        pmb=float(st["pressure_hpa"]), ln_pwv_range=(float(lnpwv.min()), float(lnpwv.max())),
        o3_range=(float(o3.min()), float(o3.max())), ln_tau_range=(float(lntau.min()), float(lntau.max())))


def load_inputs(db, cfg: FitConfig) -> CycleInputs:
    """Everything one cycle needs (raises FgcmDbError naming the missing stage)."""
    from ..lut import load_lut

    for table, stage in (("visits", "ingest"), ("observations", "ingest"), ("stars", "build-stars"),
                         ("star_obs", "build-stars")):
        if not db.table_exists(table) or db.row_count(table) == 0:
            raise FgcmDbError(f"table {table} is empty: run `fgcm-db {stage}` before `fgcm-db fit-cycle`")
    lut = load_lut(db)
    site = site_of(db)
    vis = fetch(db, "fit_visits")
    stars = fetch(db, "fit_stars")
    obs = fetch(db, "fit_observations")
    dets = fetch(db, "fit_detectors")

    bands_all = sorted(set(vis["band"].tolist()))
    bands = [b for b in (cfg.bands or bands_all) if b in bands_all]
    if not bands:
        raise FgcmDbError(f"[fit] bands = {cfg.bands}: none observed (visits have {', '.join(bands_all)})")
    keep_visit = np.isin(vis["band"], bands)
    vis = {k: v[keep_visit] for k, v in vis.items()}
    lut_filters = list(lut.physical_filters)
    band_std_filter = _standard_filters(lut, bands, vis)
    filters = _ordered_filters(vis, bands, band_std_filter)
    lam_order = np.argsort([lut.lambda_std[lut_filters.index(band_std_filter[b])] for b in bands])
    bands = [bands[i] for i in lam_order]
    band_idx = {b: i for i, b in enumerate(bands)}
    filt_idx = {f: i for i, f in enumerate(filters)}
    filter_band = np.array([band_idx[_band_of_filter(vis, f)] for f in filters])
    filter_in_lut = np.array([f in lut_filters for f in filters])
    filter_lut = np.array([lut_filters.index(f) if f in lut_filters else 0 for f in filters])
    std_rows = [lut_filters.index(band_std_filter[b]) for b in bands]

    visit_id = vis["visit"].astype(np.int64)
    visit_band = np.array([band_idx[b] for b in vis["band"]], dtype=np.int64)
    visit_filter = np.array([filt_idx[f] for f in vis["physical_filter"]], dtype=np.int64)
    mjd = vis["mjd"].astype(np.float64)
    ha = np.where(np.isfinite(vis["hour_angle"]), vis["hour_angle"],
                  hour_angle_deg(mjd, vis["boresight_ra"], site.longitude_deg))
    pmb = np.where(np.isfinite(vis["pressure"]), vis["pressure"], float(lut.standard["pressure_hpa"]))

    # observations of kept visits and of LUT filters
    ov = np.searchsorted(visit_id, obs["visit"])
    ov_ok = (ov < len(visit_id)) & (visit_id[np.minimum(ov, len(visit_id) - 1)] == obs["visit"])
    ov_ok &= filter_in_lut[visit_filter[np.minimum(ov, len(visit_id) - 1)]]
    ov_ok &= np.isfinite(obs["inst_mag"]) & np.isfinite(obs["inst_mag_err"]) & (obs["inst_mag_err"] > 0)
    obs = {k: v[ov_ok] for k, v in obs.items()}
    obs_visit = ov[ov_ok]
    star_id = stars["star_id"].astype(np.int64)
    obs_star = np.searchsorted(star_id, obs["star_id"])
    det_id = dets["detector"].astype(np.int64)
    obs_det = np.searchsorted(det_id, obs["detector"])
    if np.any(det_id[np.minimum(obs_det, len(det_id) - 1)] != obs["detector"]):
        raise FgcmDbError("observations name detectors missing from table detectors: re-run `fgcm-db ingest`")

    ha_obs = wrap_180(ha[obs_visit] + vis["boresight_ra"][obs_visit] - stars["ra"][obs_star])
    obs_secz = secant_zenith(ha_obs, stars["dec"][obs_star], site.latitude_deg)
    secz_axis = np.asarray(lut.axes["secz"], dtype=np.float64)
    visit_secz = secant_zenith(ha, vis["boresight_dec"], site.latitude_deg)
    det_secz = _detector_secz(vis, ha, dets, site)

    return CycleInputs(
        obs_star=obs_star, obs_visit=obs_visit, obs_detector=obs_det, obs_mag=obs["inst_mag"].astype(np.float64),
        obs_err=obs["inst_mag_err"].astype(np.float64), obs_secz=obs_secz,
        obs_delta_aper=np.where(obs["delta_mag_aper_err"] < cfg.aper_corr_max_err, obs["delta_mag_aper"], np.nan),
        star_id=star_id,
        star_reserved=stars["reserved"].astype(bool), visit_id=visit_id, visit_band=visit_band,
        visit_filter=visit_filter, visit_mjd=mjd, visit_night_id=vis["night"].astype(np.int64),
        visit_exptime=vis["exptime"].astype(np.float64), visit_pmb=pmb,
        visit_secz=visit_secz, visit_det_secz=det_secz,
        detector_id=det_id, detector_lut=np.asarray(lut.detector_index(det_id), dtype=np.int64),
        filters=filters, filter_band=filter_band, filter_lut=filter_lut, filter_in_lut=filter_in_lut,
        bands=bands, fit_band=np.array([(not cfg.fit_bands) or b in cfg.fit_bands for b in bands]),
        lambda_std=np.asarray(lut.lambda_std, dtype=np.float64)[std_rows],
        i10_std=np.asarray(lut.i10_std, dtype=np.float64)[std_rows],
        std_wavelength=np.asarray(lut.wavelength_nm, dtype=np.float64),
        std_throughput=np.asarray(lut.std_passbands, dtype=np.float64)[std_rows],
        zp_ab=float(ab_zeropoint_no_throughput(site.mirror_area_m2, site.gain)),
        secz_range=(float(secz_axis.min()), float(secz_axis.max())), passbands=LutPassbands(lut),
        std=standard_atmosphere(lut), obs_fp_offset=_focal_plane_offsets(obs, obs_det, dets),
        obs_uv=_detector_uv(obs, obs_det, dets),
        detector_xy=np.stack([dets["fp_x"], dets["fp_y"]], axis=1).astype(np.float64),
    )


def _focal_plane_offsets(obs: dict, obs_det: np.ndarray, dets: dict) -> np.ndarray:
    """(n_obs, 2) focal-plane offset (mm, float32) of each observation from its detector's centre, from its
    pixel position through the camera geometry; NaN where the position is unknown."""
    n = len(dets["detector"])
    camera = Camera(
        detector=np.arange(n), x_size=dets["x_size"], y_size=dets["y_size"],
        fp_x=np.zeros(n), fp_y=np.zeros(n), pixel_scale=dets["pixel_scale"], rotation=dets["rotation"],
        pixel_size_mm=np.where(np.isfinite(dets["pixel_size_mm"]), dets["pixel_size_mm"], HSC_PIXEL_SIZE_MM),
        is_science=np.ones(n, dtype=bool),
    )
    dx, dy = camera.pixel_to_focal_plane(obs_det, obs["x"], obs["y"])
    return np.stack([dx, dy], axis=1).astype(np.float32)


def _detector_uv(obs: dict, obs_det: np.ndarray, dets: dict) -> np.ndarray:
    """(n_obs, 2) normalised pixel position (float32) of each observation on its detector,
    ``u = (x + 0.5 - W/2) / (W/2)``, ``v`` likewise (NaN where the position is unknown)."""
    half_w = dets["x_size"][obs_det] / 2.0
    half_h = dets["y_size"][obs_det] / 2.0
    return np.stack([(obs["x"] + 0.5 - half_w) / half_w, (obs["y"] + 0.5 - half_h) / half_h],
                    axis=1).astype(np.float32)


def _band_of_filter(vis: dict, f: str) -> str:
    return str(vis["band"][np.flatnonzero(vis["physical_filter"] == f)[0]])


def _standard_filters(lut, bands: list[str], vis: dict) -> dict[str, str]:
    """Per band, the LUT's standard filter of the band's most used physical filter."""
    out = {}
    lut_filters = list(lut.physical_filters)
    for b in bands:
        names, counts = np.unique(vis["physical_filter"][vis["band"] == b], return_counts=True)
        in_lut = [(c, n) for n, c in zip(names, counts) if n in lut_filters]
        if not in_lut:
            raise FgcmDbError(f"no physical filter of band {b} ({', '.join(names)}) is in the look-up table: "
                              "rerun make-lut with their throughput")
        main = max(in_lut)[1]
        out[b] = lut.std_physical_filters[lut_filters.index(main)]
    return out


def _ordered_filters(vis: dict, bands: list[str], std_filter: dict[str, str]) -> list[str]:
    """Physical filters, the standard filter of each band first (its filter offset stays fixed)."""
    out = []
    for b in bands:
        names = sorted(set(vis["physical_filter"][vis["band"] == b].tolist()))
        names.sort(key=lambda n: n != std_filter[b])
        out.extend(names)
    return out


def _detector_secz(vis: dict, ha: np.ndarray, dets: dict, site: Site) -> np.ndarray:
    """sec z at every detector centre of every visit, (n_visits, n_detectors)."""
    plate = np.median(dets["pixel_scale"]) / HSC_PIXEL_SIZE_MM
    rot = np.where(np.isfinite(vis["boresight_rot"]), vis["boresight_rot"], 0.0)
    nv, nd = len(ha), len(dets["detector"])
    ra, dec = focal_plane_to_sky(np.tile(dets["fp_x"], nv), np.tile(dets["fp_y"], nv),
                                 np.repeat(vis["boresight_ra"], nd), np.repeat(vis["boresight_dec"], nd),
                                 np.repeat(rot, nd), plate)
    ha_det = wrap_180(np.repeat(ha + vis["boresight_ra"], nd) - ra)
    return secant_zenith(ha_det, dec, site.latitude_deg).reshape(nv, nd)
