"""Store a cycle's outputs in the fit tables (migrations/0006_fit.sql) and rebuild a cycle's state.

Frames are Arrow tables registered on the connection and inserted by ``sql/fit_insert_<table>.sql``;
every table is keyed by (run_id, cycle) and its previous rows for that key are deleted first.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from .data import fetch
from .engine import CycleOutputs
from .inputs import CycleInputs, FitState
from .params import ATM_CLASSES, ParamLayout, at_bound
from .subccd import remove_centre

TABLES = ("fit_params", "night_atmosphere", "exp_gray", "ccd_gray", "superstar", "star_mags", "star_flags",
          "cycle_summary", "zeropoints")


def _nan_to_null(values) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return pa.array(arr, mask=~np.isfinite(arr))
    return pa.array(arr)


def _insert(db, table: str, columns: dict) -> None:
    frame = pa.table({k: _nan_to_null(v) for k, v in columns.items()})
    name = f"fit_{table}_frame"
    db.con.register(name, frame)
    try:
        db.execute(f"fit_insert_{table}")
    finally:
        db.con.unregister(name)


def delete_cycle(db, run_id: int, cycle: int) -> None:
    """Remove the rows of (run_id, cycle) from every fit table."""
    for t in TABLES:
        db.execute(f"fit_delete_{t}", {"run_id": run_id, "cycle": cycle})


def delete_stale(db, cycle: int) -> None:
    """Remove rows of earlier `fit-cycle` runs for cycles >= cycle."""
    for t in TABLES:
        db.execute(f"fit_delete_stale_{t}", {"cycle": cycle})


def write_cycle(db, run_id: int, inp: CycleInputs, out: CycleOutputs) -> None:
    """Write every fit table for (run_id, out.cycle)."""
    c = out.cycle
    delete_cycle(db, run_id, c)
    key = {"run_id": run_id, "cycle": c}
    _insert(db, "fit_params", {**_rep(key, len(_params(inp, out)["param"])), **_params(inp, out)})
    _insert(db, "night_atmosphere", _nights(key, inp, out))
    _insert(db, "exp_gray", _visits(key, inp, out))
    _insert(db, "ccd_gray", _ccds(key, inp, out))
    _insert(db, "superstar", _superstar(key, inp, out))
    _insert(db, "star_mags", _star_mags(key, inp, out))
    _insert(db, "star_flags", {**_rep(key, inp.n_stars), "star_id": inp.star_id, "flag": out.state.star_flag,
                               "reserved": inp.star_reserved})
    _insert(db, "cycle_summary", _summary(key, inp, out))
    _insert(db, "zeropoints", _zeropoints(key, inp, out))


def _rep(key: dict, n: int) -> dict:
    return {"run_id": np.full(n, key["run_id"], dtype=np.int64), "cycle": np.full(n, key["cycle"], dtype=np.int32)}


def _params(inp: CycleInputs, out: CycleOutputs) -> dict:
    lay, st = out.layout, out.state
    nn = lay.n_nights
    rows: dict[str, list] = {k: [] for k in ("param", "night", "wash", "band", "physical_filter", "detector",
                                             "value", "lower_bound", "upper_bound", "free", "at_bound",
                                             "step_unit", "pivot_mjd")}

    def add(param, value, night=None, wash=None, band=None, filt=None, det=None, lo=np.nan, hi=np.nan,
            free=False, unit=np.nan, pivot=np.nan):
        at = bool(at_bound(value, lo, hi, free))
        for k, v in zip(rows, (param, night, wash, band, filt, det, value, lo, hi, free, at, unit, pivot)):
            rows[k].append(v)

    for k, name in enumerate(ATM_CLASSES):
        sl = lay.atm(k)
        for n in range(nn):
            i = sl.start + n
            add(name, float(st.p[i]), night=int(out.state.night_ids[n]), lo=float(out.lower[i]),
                hi=float(out.upper[i]), free=bool(out.free[i]), unit=float(out.units[i]),
                pivot=float(out.night_pivot[n]))
    for w in range(lay.n_wash):
        i = lay.qe.start + w
        add("qe_sys_intercept", float(st.p[i]), wash=w, lo=float(out.lower[i]), hi=float(out.upper[i]),
            free=bool(out.free[i]), unit=float(out.units[i]), pivot=float(out.wash_start[w]))
        i = lay.qe_slope.start + w
        add("qe_sys_slope", float(st.p[i]), wash=w, lo=float(out.lower[i]), hi=float(out.upper[i]),
            free=bool(out.free[i]), unit=float(out.units[i]), pivot=float(out.wash_start[w]))
    for f, name in enumerate(inp.filters):
        i = lay.filt.start + f
        add("filter_offset", float(st.p[i]), filt=name, lo=float(out.lower[i]), hi=float(out.upper[i]),
            free=bool(out.free[i]), unit=float(out.units[i]))
    for b, band in enumerate(inp.bands):
        for name, sl in (("aper_corr_slope", lay.aper), ("aper_corr_curvature", lay.aper2)):
            i = sl.start + b
            add(name, float(st.p[i]), band=band, lo=float(out.lower[i]), hi=float(out.upper[i]),
                free=bool(out.free[i]), unit=float(out.units[i]))
        add("aper_corr_pivot", float(st.aper_pivot[b]), band=band)
        ends = st.aper_range[b] if st.aper_range is not None else (np.nan, np.nan)
        for name, value in zip(("aper_corr_range_low", "aper_corr_range_high"), ends):
            if np.isfinite(value):
                add(name, float(value), band=band)
    nd = inp.n_detectors
    for f, name in enumerate(inp.filters):
        for d in range(nd):
            i = lay.chrom.start + f * nd + d
            add("ccd_chromaticity", float(out.ccd_chrom[f, d]), filt=name, det=int(inp.detector_id[d]),
                lo=float(out.lower[i]), hi=float(out.upper[i]), free=bool(out.free[i]), unit=float(out.units[i]))
    return {
        "param": np.array(rows["param"], dtype=object), "night": pa.array(rows["night"], type=pa.int32()),
        "wash": pa.array(rows["wash"], type=pa.int32()), "band": pa.array(rows["band"], type=pa.string()),
        "physical_filter": pa.array(rows["physical_filter"], type=pa.string()),
        "detector": pa.array(rows["detector"], type=pa.int32()),
        **{k: np.array(rows[k], dtype=np.float64) for k in ("value", "lower_bound", "upper_bound", "step_unit",
                                                            "pivot_mjd")},
        "free": np.array(rows["free"], dtype=bool), "at_bound": np.array(rows["at_bound"], dtype=bool),
    }


def _nights(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    lay, p = out.layout, out.state.p
    nn = lay.n_nights
    cnt = np.maximum(out.night_n_visits, 1)
    return {
        **_rep(key, nn), "night": out.state.night_ids.astype(np.int32), "pivot_mjd": out.night_pivot,
        "fitted": out.night_fitted, "n_visits": out.night_n_visits.astype(np.int32),
        "n_visits_photometric": out.night_n_phot.astype(np.int32), "o3": p[lay.atm(0)], "alpha": p[lay.atm(1)],
        "ln_pwv_intercept": p[lay.atm(2)], "ln_pwv_slope": p[lay.atm(3)], "ln_tau_intercept": p[lay.atm(4)],
        "ln_tau_slope": p[lay.atm(5)],
        "pwv_mean": np.bincount(out.visit_night, out.visit_pwv, minlength=nn) / cnt,
        "tau_mean": np.bincount(out.visit_night, out.visit_tau, minlength=nn) / cnt,
    }


def _visits(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    e = out.exp
    return {
        **_rep(key, inp.n_visits), "visit": inp.visit_id, "band": np.array(inp.bands, dtype=object)[inp.visit_band],
        "physical_filter": np.array(inp.filters, dtype=object)[inp.visit_filter],
        "night": inp.visit_night_id.astype(np.int32), "mjd": inp.visit_mjd, "exp_flag": out.visit_flag.astype(np.int32),
        "photometric": out.visit_flag == 0, "exp_gray": e.gray, "exp_gray_err": e.err, "exp_gray_rms": e.rms,
        "n_good_ccds": e.n_good_ccds.astype(np.int32), "n_good_stars": e.n_good_stars.astype(np.int32),
        "pmb": inp.visit_pmb, "pwv": out.visit_pwv, "o3": out.visit_o3, "tau": out.visit_tau,
        "alpha": out.visit_alpha, "secz": inp.visit_secz, "qe_sys": out.visit_qe, "aper_corr": out.visit_aper,
        "fit_cloud": out.visit_cloud,
    }


def _ccds(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    c = out.ccd
    n = len(out.pair_visit)
    return {
        **_rep(key, n), "visit": inp.visit_id[out.pair_visit], "detector": inp.detector_id[out.pair_detector].astype(np.int32),
        "ccd_gray": c.gray, "ccd_gray_err": c.err, "ccd_gray_rms": c.rms, "n_stars": c.n_stars.astype(np.int32),
        "tilings": c.tilings, "delta_chrom": c.delta_chrom, "good": c.good,
    }


def _superstar(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    ne, nf, nd = out.state.superstar.shape
    e, f, d = (a.reshape(-1) for a in np.meshgrid(np.arange(ne), np.arange(nf), np.arange(nd), indexing="ij"))
    return {
        **_rep(key, e.size), "epoch": e.astype(np.int32), "physical_filter": np.array(inp.filters, dtype=object)[f],
        "detector": inp.detector_id[d].astype(np.int32), "superstar": out.state.superstar.reshape(-1),
        "superstar_applied": out.superstar_applied.reshape(-1), "superstar_err": out.superstar_err.reshape(-1),
        "n_stars": out.superstar_n.reshape(-1).astype(np.int32), "superstar_cheb": _superstar_cheb(out),
    }


def _superstar_cheb(out: CycleOutputs) -> pa.Array:
    """Per (epoch, filter, detector) the full sub-detector polynomial (mag): the shape with the
    superstar added to its constant coefficient (so S(0, 0) = superstar); NULLs without one."""
    n = out.state.superstar.size
    if out.state.sub_ccd is None:
        return pa.nulls(n, pa.list_(pa.float64()))
    full = out.state.sub_ccd.reshape(n, -1).copy()
    full[:, 0] += out.state.superstar.reshape(-1)
    return pa.array(list(full), type=pa.list_(pa.float64()))


def _star_mags(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    s, b = np.nonzero(out.n_total > 0)
    return {
        **_rep(key, len(s)), "star_id": inp.star_id[s], "band": np.array(inp.bands, dtype=object)[b],
        "mag_std": out.mag_std[s, b], "mag_std_err": out.mag_std_err[s, b], "mag_std_raw": out.mag_std_raw[s, b],
        "n_good": out.n_good[s, b].astype(np.int32), "n_total": out.n_total[s, b].astype(np.int32),
        "sed_slope": out.sed[s, b], "mag_colour": out.state.mean_mags[s, b],
    }


def _summary(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    nb = len(inp.bands)
    vb = inp.visit_band
    return {
        **_rep(key, nb), "band": np.array(inp.bands, dtype=object),
        "n_visits": np.bincount(vb, minlength=nb).astype(np.int32),
        "n_visits_photometric": np.bincount(vb, out.visit_flag == 0, minlength=nb).astype(np.int32),
        "n_stars": out.n_fit_stars.astype(np.int32), "chi2_per_dof": np.full(nb, out.chi2_per_dof),
        "repeatability_mmag": 1000 * out.state.repeatability, "crunched_repeatability_mmag": 1000 * out.crunched_repeatability,
        "sigma_fgcm_mmag": 1000 * out.sigma_fgcm, "sigma_cal_mmag": 1000 * out.sigma_cal,
        "exp_gray_cut_low": out.cuts_used[:, 0], "exp_gray_cut_high": out.cuts_used[:, 1],
        "exp_var_gray_cut": out.cuts_used[:, 2],
        "next_exp_gray_cut_low": out.state.cuts[:, 0], "next_exp_gray_cut_high": out.state.cuts[:, 1],
        "next_exp_var_gray_cut": out.state.cuts[:, 2],
        "n_evaluations": np.full(nb, out.n_evaluations, dtype=np.int32),
        "optimizer_status": np.full(nb, out.status, dtype=object), "converged": np.full(nb, out.converged),
    }


def _zeropoints(key: dict, inp: CycleInputs, out: CycleOutputs) -> dict:
    z = out.zeropoints
    nv, nd = z.zp.shape
    v = np.repeat(np.arange(nv), nd)
    d = np.tile(np.arange(nd), nv)
    layout = out.layout
    superstar = out.state.superstar[out.visit_epoch[v], inp.visit_filter[v], d]
    return {
        **_rep(key, nv * nd), "visit": inp.visit_id[v], "detector": inp.detector_id[d].astype(np.int32),
        "band": np.array(inp.bands, dtype=object)[inp.visit_band[v]],
        "physical_filter": np.array(inp.filters, dtype=object)[inp.visit_filter[v]],
        "flag": z.flag.reshape(-1).astype(np.int32), "photometric": (out.visit_flag == 0)[v],
        "zp": z.zp.reshape(-1), "zp_err": z.zp_err.reshape(-1), "i0": z.i0.reshape(-1), "i10": z.i10.reshape(-1),
        "gray": z.gray.reshape(-1), "gray_var": z.gray_var.reshape(-1), "tilings": z.tilings.reshape(-1),
        "fp_gray": z.fp_gray.reshape(-1), "fp_gray_var": z.fp_gray_var.reshape(-1), "qe_sys": out.visit_qe[v],
        "filter_offset": out.state.p[layout.filt][inp.visit_filter[v]], "superstar": superstar,
        "aper_corr": out.visit_aper[v], "delta_chrom": z.delta_chrom.reshape(-1), "exptime": inp.visit_exptime[v],
        "mjd": inp.visit_mjd[v], "secz": inp.visit_det_secz.reshape(-1), "pmb": inp.visit_pmb[v],
        "pwv": out.visit_pwv[v], "o3": out.visit_o3[v], "tau": out.visit_tau[v], "alpha": out.visit_alpha[v],
    }


# -- state ---------------------------------------------------------------------------------------
def load_state(db, run_id: int, cycle: int, inp: CycleInputs, n_wash: int, n_epoch: int) -> FitState:
    """Rebuild the FitState of (run_id, cycle) from the tables, aligned with ``inp``."""
    key = {"run_id": run_id, "cycle": cycle}
    par = fetch(db, "fit_load_fit_params", key)
    nights = np.unique(par["night"][np.isin(par["param"], ATM_CLASSES)]).astype(np.int64)
    lay = ParamLayout(len(nights), n_wash, len(inp.filters), len(inp.bands), inp.n_detectors, n_epoch)
    p = np.zeros(lay.size)
    for k, name in enumerate(ATM_CLASSES):
        sel = par["param"] == name
        p[lay.atm(k)][np.searchsorted(nights, par["night"][sel].astype(np.int64))] = par["value"][sel]
    qe_rows = par["param"] == "qe_sys_intercept"
    p[lay.qe][par["wash"][qe_rows].astype(int)] = par["value"][qe_rows]
    slope_rows = par["param"] == "qe_sys_slope"
    p[lay.qe_slope][par["wash"][slope_rows].astype(int)] = par["value"][slope_rows]
    fsel = par["param"] == "filter_offset"
    for name, value in zip(par["physical_filter"][fsel], par["value"][fsel]):
        if name in inp.filters:
            p[lay.filt][inp.filters.index(name)] = value

    def per_band(name: str, default: float) -> np.ndarray:
        sel = par["param"] == name
        got = dict(zip(par["band"][sel], par["value"][sel]))
        out = np.array([got.get(b, default) for b in inp.bands], dtype=np.float64)
        return np.where(np.isnan(out), default, out)

    for name, sl in (("aper_corr_slope", lay.aper), ("aper_corr_curvature", lay.aper2)):
        p[sl] = per_band(name, 0.0)
    csel = par["param"] == "ccd_chromaticity"
    chrom = p[lay.chrom].reshape(len(inp.filters), inp.n_detectors)
    for name, det, value in zip(par["physical_filter"][csel], par["detector"][csel], par["value"][csel]):
        d = int(np.searchsorted(inp.detector_id, det))
        if name in inp.filters and d < inp.n_detectors and inp.detector_id[d] == det:
            chrom[inp.filters.index(name), d] = value

    ss = fetch(db, "fit_load_superstar", key)
    superstar = np.zeros((n_epoch, len(inp.filters), inp.n_detectors))
    fi = np.array([inp.filters.index(f) if f in inp.filters else -1 for f in ss["physical_filter"]])
    di = np.searchsorted(inp.detector_id, ss["detector"])
    ok = (fi >= 0) & (ss["epoch"] < n_epoch)
    superstar[ss["epoch"][ok].astype(int), fi[ok], di[ok]] = ss["superstar"][ok]
    p[lay.flat] = superstar.reshape(-1)
    sub_ccd = _load_sub_ccd(ss, ok, fi, di, superstar.shape)

    exp = fetch(db, "fit_load_exp_gray", key)
    vpos = np.searchsorted(exp["visit"], inp.visit_id)
    vpos = np.clip(vpos, 0, len(exp["visit"]) - 1)
    vok = exp["visit"][vpos] == inp.visit_id
    flags = fetch(db, "fit_load_star_flags", key)
    spos = np.clip(np.searchsorted(flags["star_id"], inp.star_id), 0, len(flags["star_id"]) - 1)
    star_flag = np.where(flags["star_id"][spos] == inp.star_id, flags["flag"][spos], 0).astype(np.int64)
    mags = fetch(db, "fit_load_star_mags", key)
    mean = np.full((inp.n_stars, len(inp.bands)), np.nan)
    bi = np.array([inp.bands.index(b) if b in inp.bands else -1 for b in mags["band"]])
    si = np.clip(np.searchsorted(inp.star_id, mags["star_id"]), 0, inp.n_stars - 1)
    mok = (bi >= 0) & (inp.star_id[si] == mags["star_id"])
    # mag_colour is NULL in tables written before migration 0009: the photometric mean then
    colour = np.where(np.isnan(mags["mag_colour"]), mags["mag_std_raw"], mags["mag_colour"])
    mean[si[mok], bi[mok]] = colour[mok]
    summ = fetch(db, "fit_load_cycle_summary", key)
    cuts = np.zeros((len(inp.bands), 3))
    rep = np.full(len(inp.bands), np.nan)
    for b, band in enumerate(inp.bands):
        row = np.flatnonzero(summ["band"] == band)
        if len(row):
            cuts[b] = (summ["next_exp_gray_cut_low"][row[0]], summ["next_exp_gray_cut_high"][row[0]],
                       summ["next_exp_var_gray_cut"][row[0]])
            rep[b] = summ["repeatability_mmag"][row[0]] / 1000.0
    frozen = bool(cycle == 0 and len(nights) and not par["free"][np.isin(par["param"], ATM_CLASSES)].any())
    return FitState(
        p=p, night_ids=nights, superstar=superstar, aper_pivot=per_band("aper_corr_pivot", 0.0),
        aper_range=np.column_stack([per_band("aper_corr_range_low", -np.inf), per_band("aper_corr_range_high", np.inf)]),
        exp_gray=np.where(vok, exp["exp_gray"][vpos], np.nan),
        exp_gray_rms=np.where(vok, exp["exp_gray_rms"][vpos], np.nan),
        exp_n_good_stars=np.where(vok, exp["n_good_stars"][vpos], 0).astype(np.int64),
        star_flag=star_flag, mean_mags=mean, cuts=cuts, repeatability=rep, atm_frozen=frozen, sub_ccd=sub_ccd,
    )


def _load_sub_ccd(ss: dict, ok: np.ndarray, fi: np.ndarray, di: np.ndarray, shape: tuple) -> np.ndarray | None:
    """The sub-detector shapes (value 0 at the centre) from ``superstar.superstar_cheb`` (None: none stored)."""
    cheb = ss["superstar_cheb"]
    present = [i for i in np.flatnonzero(ok) if cheb[i] is not None]
    if not present:
        return None
    nc = len(cheb[present[0]])
    order = math.isqrt(nc) - 1
    out = np.zeros((*shape, nc))
    for i in present:
        out[int(ss["epoch"][i]), fi[i], di[i]] = remove_centre(np.asarray(cheb[i], dtype=np.float64), order)
    return out

