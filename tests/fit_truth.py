"""Compare a fit cycle's tables with a simulation's truth: the acceptance numbers of issue 6."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from fgcm_db.fit import flags as F


@dataclasses.dataclass
class FitAccuracy:
    """Per band (dicts keyed by band) unless noted; mag unless noted.

    phot_zp_rms : photometric (visit, detector) zero-points minus truth, rms after the band's mean offset.
    all_zp_rms : every calibrated (visit, detector), same offset removed.
    star_rms : bright (< 20 mag) non-variable stars' mag_std minus truth, rms about the mean.
    colour_slope : slope of that residual against the true g-i colour, mag per mag.
    pwv_err, tau_err : per night with >= 5 photometric visits, |fitted - true| nightly mean (mm, 1).
    photometric_kept : fraction of truth-photometric visits classified photometric (all bands).
    cloudy_rejected : fraction of visits with > 20 mmag cloud classified non-photometric.
    variables_flagged : fraction flagged VARIABLE of the bright (< 20 mag) variables of >= 0.05 mag
    semi-amplitude among the stars the fit used (no too-few-observations or bad-colour flag).
    constant_flagged : number of non-variable stars flagged VARIABLE.
    zeropoints : the joined zero-point table (for determinism checks).
    """

    phot_zp_rms: dict
    all_zp_rms: dict
    star_rms: dict
    colour_slope: dict
    pwv_err: dict
    tau_err: dict
    photometric_kept: float
    cloudy_rejected: float
    variables_flagged: float
    constant_flagged: int
    zeropoints: pl.DataFrame


def _q(con, sql: str, params: dict | None = None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or {}).to_arrow_table())


def fit_accuracy(db: Path, sim: Path, run_id: int, cycle: int) -> FitAccuracy:
    """Accuracy of (run_id, cycle) of ``db`` against ``sim/truth``."""
    con = duckdb.connect(str(db), read_only=True)
    key = {"run_id": run_id, "cycle": cycle}
    zp = _q(con, "SELECT visit, detector, band, zp, photometric, flag FROM zeropoints "
                 "WHERE run_id = $run_id AND cycle = $cycle AND zp IS NOT NULL ORDER BY visit, detector", key)
    truth_zp = pl.read_parquet(sim / "truth" / "photo_calib.parquet").select("visit", "detector", "zp_mag")
    z = zp.join(truth_zp, on=["visit", "detector"]).with_columns((pl.col("zp") - pl.col("zp_mag")).alias("d"))
    phot_rms, all_rms = {}, {}
    for band in sorted(z["band"].unique()):
        zb = z.filter(pl.col("band") == band)
        phot = zb.filter(pl.col("photometric"))["d"].to_numpy()
        offset = phot.mean()
        phot_rms[band] = float(np.sqrt(np.mean((phot - offset) ** 2)))
        all_rms[band] = float(np.sqrt(np.mean((zb["d"].to_numpy() - offset) ** 2)))

    star_obs = _q(con, "SELECT star_id, sourceId FROM star_obs")
    truth_obs = pl.read_parquet(sim / "truth" / "observations.parquet").select("sourceId", "object_id")
    star_object = (star_obs.join(truth_obs, on="sourceId").group_by("star_id")
                   .agg(pl.col("object_id").mode().min()))
    truth_stars = pl.read_parquet(sim / "truth" / "stars.parquet")
    mags = (_q(con, "SELECT star_id, band, mag_std FROM star_mags WHERE run_id = $run_id AND cycle = $cycle "
                    "AND mag_std IS NOT NULL", key)
            .join(star_object, on="star_id").join(truth_stars, on="object_id"))
    star_rms, slope = {}, {}
    for band in sorted(mags["band"].unique()):
        col = f"mag_std_{band}"
        sb = mags.filter((pl.col("band") == band) & (pl.col("kind") == "star") & ~pl.col("variable")
                         & (pl.col(col) < 20.0))
        r = (sb["mag_std"] - sb[col]).to_numpy()
        r = r - r.mean()
        star_rms[band] = float(np.sqrt(np.mean(r ** 2)))
        slope[band] = float(np.polyfit(sb["color_gi"].to_numpy(), r, 1)[0])

    flags = (_q(con, "SELECT star_id, flag FROM star_flags WHERE run_id = $run_id AND cycle = $cycle", key)
             .join(star_object, on="star_id").join(truth_stars, on="object_id")
             .filter(pl.col("flag") & (F.STAR_TOO_FEW_OBS | F.STAR_BAD_COLOR) == 0)
             .with_columns(((pl.col("flag") & F.STAR_VARIABLE) != 0).alias("flagged")))
    bright_var = flags.filter(pl.col("variable") & (pl.col("mag_ref") < 20.0) & (pl.col("var_amp") >= 0.05))
    variables_flagged = float(bright_var["flagged"].mean())
    constant_flagged = int(flags.filter(~pl.col("variable") & pl.col("flagged")).height)

    truth_visits = pl.read_parquet(sim / "truth" / "visits.parquet")
    exp = _q(con, "SELECT visit, night, photometric FROM exp_gray WHERE run_id = $run_id AND cycle = $cycle", key)
    v = exp.join(truth_visits.select("visit", pl.col("photometric").alias("truth_phot"), "cloud_mag", "pwv", "tau"),
                 on="visit")
    kept = float(v.filter(pl.col("truth_phot"))["photometric"].mean())
    rejected = float((~v.filter(pl.col("cloud_mag") > 0.02)["photometric"]).mean())
    nights = _q(con, "SELECT night, pwv_mean, tau_mean, n_visits_photometric FROM night_atmosphere "
                     "WHERE run_id = $run_id AND cycle = $cycle", key)
    truth_night = v.group_by("night").agg(pl.col("pwv").mean().alias("pwv_true"), pl.col("tau").mean().alias("tau_true"))
    n = nights.join(truth_night, on="night").filter(pl.col("n_visits_photometric") >= 5)
    pwv_err = dict(zip(n["night"].to_list(), (n["pwv_mean"] - n["pwv_true"]).abs().to_list()))
    tau_err = dict(zip(n["night"].to_list(), (n["tau_mean"] - n["tau_true"]).abs().to_list()))
    con.close()
    return FitAccuracy(phot_rms, all_rms, star_rms, slope, pwv_err, tau_err, kept, rejected, variables_flagged,
                       constant_flagged, zp)


def within_detector_slopes(db: Path, sim: Path, result, min_obs: int = 30) -> tuple[float, float]:
    """RMS over (epoch, filter, detector) of the within-detector slope of the per-observation residual
    against the truth (mag per half detector width), and the RMS expected from noise alone.

    ``result`` is the final cycle's CycleResult. The residual of observation i of star s is its
    instrumental magnitude plus the sub-detector superstar the fit applies at its (u, v), minus the star's
    true standard magnitude; bright (< 20.5 mag) non-variable stars on photometric visits. Each
    (visit, detector)'s weighted mean is removed (it holds the zero-point), then per (epoch, filter,
    detector) the pooled weighted slope in u and v is |(g_u, g_v)|.
    """
    from fgcm_db.fit import subccd

    inp, out = result.inputs, result.outputs
    con = duckdb.connect(str(db), read_only=True)
    star_obs = _q(con, "SELECT star_id, sourceId FROM star_obs")
    con.close()
    truth_obs = pl.read_parquet(sim / "truth" / "observations.parquet").select("sourceId", "object_id")
    star_object = (star_obs.join(truth_obs, on="sourceId").group_by("star_id")
                   .agg(pl.col("object_id").mode().min()))
    stars = (pl.DataFrame({"star_id": inp.star_id}).join(star_object, on="star_id", how="left")
             .join(pl.read_parquet(sim / "truth" / "stars.parquet"), on="object_id", how="left"))
    band = inp.visit_band[inp.obs_visit]
    truth = np.full(inp.n_obs, np.nan)
    for b, name in enumerate(inp.bands):
        sel = band == b
        truth[sel] = stars[f"mag_std_{name}"].to_numpy().astype(np.float64)[inp.obs_star[sel]]
    star_ok = (stars["kind"].to_numpy() == "star") & ~stars["variable"].fill_null(True).to_numpy()
    nd = inp.n_detectors
    key = (out.visit_epoch[inp.obs_visit] * len(inp.filters) + inp.visit_filter[inp.obs_visit]) * nd + inp.obs_detector
    shape = np.zeros(inp.n_obs)
    if out.state.sub_ccd is not None:
        order = math.isqrt(out.state.sub_ccd.shape[-1]) - 1
        shape = subccd.evaluate(out.state.sub_ccd.reshape(-1, out.state.sub_ccd.shape[-1]), key, inp.obs_uv, order)
    uv = inp.obs_uv.astype(np.float64)
    use = np.flatnonzero(star_ok[inp.obs_star] & (truth < 20.5) & (out.visit_flag == 0)[inp.obs_visit]
                         & np.isfinite(uv).all(axis=1))
    resid = (inp.obs_mag + shape - truth)[use]
    w = 1.0 / (inp.obs_err[use] ** 2 + 0.003 ** 2)
    pair = np.unique((inp.obs_visit * nd + inp.obs_detector)[use], return_inverse=True)[1]

    def centred(a):
        return a - (np.bincount(pair, w * a) / np.bincount(pair, w))[pair]

    du, dv, dr = centred(uv[use, 0]), centred(uv[use, 1]), centred(resid)
    k = np.unique(key[use], return_inverse=True)[1]
    suu, suv, svv, sur, svr = (np.bincount(k, w * a * b) for a, b in ((du, du), (du, dv), (dv, dv), (du, dr), (dv, dr)))
    det = suu * svv - suv ** 2
    gu, gv = (svv * sur - suv * svr) / det, (suu * svr - suv * sur) / det
    n = np.bincount(k)
    ok = n >= min_obs
    res = dr - gu[k] * du - gv[k] * dv
    scale = np.bincount(k, w * res ** 2) / np.maximum(n - 3, 1)
    noise_var = scale * (suu + svv) / det
    return (float(np.sqrt(np.mean((gu ** 2 + gv ** 2)[ok]))), float(np.sqrt(np.mean(noise_var[ok]))))
