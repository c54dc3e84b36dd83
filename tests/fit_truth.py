"""Compare a fit cycle's tables with a simulation's truth: the acceptance numbers of issue 6."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import numpy as np
import polars as pl


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
    return FitAccuracy(phot_rms, all_rms, star_rms, slope, pwv_err, tau_err, kept, rejected, zp)
