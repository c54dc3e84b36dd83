"""QA plots of a calibrate-tract run (matplotlib, Agg, one PNG per figure), made from the tables only.

``fgcm-db plots --out DIR`` (and ``calibrate-tract --plots DIR``) draws the most recent calibrate-tract
run (``tract_summary``):

* ``exp_gray_histograms.png``: visit (exposure) gray per band, photometric vs not, with the cuts;
* ``focal_plane_zeropoints.png``: per detector, zero-point relative to its visit median (photometric
  visits): the illumination / superstar pattern;
* ``focal_plane_gray.png``: per detector, the mean detector gray minus visit gray on photometric visits:
  the focal-plane structure the model (superstar) leaves, ~0 when it works;
* ``atmosphere_vs_time.png``: fitted PWV, tau, alpha, O3 and the visit gray per visit, night by night;
* ``repeatability_vs_magnitude.png``: reserved stars, calibrated observation minus standard magnitude;
* ``residuals_vs_colour.png``: observation residuals vs g-i at low and high airmass (a chromatic error
  shows as a tilt that differs with airmass), and reference - standard vs colour when a reference
  catalog was ingested;
* ``convergence.png``: reserved-star repeatability and chi2/dof per cycle.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .db import Database
from .errors import FgcmDbError
from .progress import say, status
from .stars import ordered_bands

log = logging.getLogger(__name__)

BAND_COLOURS = {"u": "#7b3294", "g": "#1b9e77", "r": "#d95f02", "i": "#7570b3", "z": "#e7298a", "y": "#66a61e"}
#: magnitude bins of the repeatability plot, mag
MAG_BIN = 0.5
#: airmass splitting "low" and "high" in the colour plot
AIRMASS_SPLIT = 1.3
#: lower end of the visit-gray axis of the atmosphere plot, mmag (thicker clouds are counted)
GRAY_AXIS_MIN_MMAG = -300.0


def _colour(band: str) -> str:
    return BAND_COLOURS.get(band, "0.3")


def _columns(db: Database, name: str, params: dict) -> dict[str, np.ndarray]:
    t = db.fetch_arrow(name, params)
    return {c: t.column(c).to_numpy(zero_copy_only=False) for c in t.column_names}


def _floats(a) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in a], dtype=np.float64) if a.dtype == object \
        else a.astype(np.float64)


def _panels(plt, n: int, width: float = 4.2, height: float = 3.4, rows: int = 1):
    fig, axes = plt.subplots(rows, n, figsize=(width * n, height * rows), squeeze=False)
    return fig, axes


def _no_data(fig, axes, text: str) -> None:
    """Say in an empty figure why it is empty (e.g. no reserved stars on photometric visits)."""
    ax = axes[0][0]
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig, out: Path, name: str) -> Path:
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_exp_gray(plt, data: dict, out: Path) -> Path:
    bands = ordered_bands(data["band"].tolist())
    fig, axes = _panels(plt, len(bands))
    for ax, band in zip(axes[0], bands):
        sel = data["band"] == band
        gray = _floats(data["exp_gray"][sel]) * 1000.0
        phot = data["photometric"][sel].astype(bool)
        finite = np.isfinite(gray)
        lo, hi = -150.0, 100.0
        bins = np.linspace(lo, hi, 51)
        ax.hist(np.clip(gray[finite & phot], lo, hi), bins=bins, color=_colour(band), label="photometric")
        ax.hist(np.clip(gray[finite & ~phot], lo, hi), bins=bins, color="0.6", alpha=0.8, label="not photometric")
        cut_lo = _floats(data["exp_gray_cut_low"][sel])
        cut_hi = _floats(data["exp_gray_cut_high"][sel])
        for cut in (np.nanmax(cut_lo, initial=np.nan), np.nanmax(cut_hi, initial=np.nan)):
            if np.isfinite(cut):
                ax.axvline(cut * 1000.0, color="k", ls="--", lw=1)
        outside = int(np.sum(finite & ((gray < lo) | (gray > hi))))
        note = f"{int(finite.sum())} visits, {int((finite & phot).sum())} photometric"
        if outside:
            note += f"\n{outside} outside the range (piled at the edges)"
        if (~finite).sum():
            note += f"\n{int((~finite).sum())} without a gray"
        ax.text(0.02, 0.97, note, transform=ax.transAxes, va="top", fontsize=8)
        ax.set_title(f"{band}: visit gray (cuts dashed)")
        ax.set_xlabel("EXP gray [mmag] (negative = clouds)")
        ax.set_ylabel("visits")
        ax.legend(fontsize=7, loc="upper right")
    return _save(fig, out, "exp_gray_histograms.png")


def _focal_plane(plt, data: dict, title: str, out: Path, name: str) -> Path:
    """A map of ``data['value_mmag']`` per detector and band (mean over photometric visits)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    bands = ordered_bands(data["band"].tolist())
    fig, axes = _panels(plt, max(len(bands), 1), width=4.4, height=4.0)
    if not bands:
        _no_data(fig, axes, "no calibrated detector\non a photometric visit")
    for ax, band in zip(axes[0], bands):
        sel = data["band"] == band
        values = _floats(data["value_mmag"][sel])
        patches = [
            Rectangle((x - w / 2, y - h / 2), w, h, angle=rot, rotation_point="center")
            for x, y, w, h, rot in zip(data["fp_x"][sel], data["fp_y"][sel], data["width_mm"][sel],
                                       data["height_mm"][sel], data["rotation"][sel])
        ]
        finite = values[np.isfinite(values)]
        span = max(np.percentile(np.abs(finite - np.median(finite)), 98), 1.0) if len(finite) else 1.0
        centre = float(np.median(finite)) if len(finite) else 0.0
        coll = PatchCollection(patches, cmap="coolwarm", edgecolor="0.3", linewidth=0.3)
        coll.set_array(values)
        coll.set_clim(centre - span, centre + span)
        ax.add_collection(coll)
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_title(f"{band}: {title}\nrms {np.std(finite):.1f} mmag over {len(finite)} detectors", fontsize=9)
        ax.set_xlabel("focal plane x [mm]")
        ax.set_ylabel("focal plane y [mm]")
        fig.colorbar(coll, ax=ax, shrink=0.8, label="mmag")
    return _save(fig, out, name)


def plot_atmosphere(plt, data: dict, out: Path) -> Path:
    nights = data["night"].astype(np.int64)
    uniq = np.unique(nights)
    rank = np.searchsorted(uniq, nights)
    mjd = data["mjd"].astype(np.float64)
    start = np.array([mjd[nights == n].min() for n in uniq])
    span = np.array([max(np.ptp(mjd[nights == n]), 1e-3) for n in uniq])
    # compressed timeline: night k occupies [k, k + 0.8]
    x = rank + 0.8 * (mjd - start[rank]) / span[rank]
    rows = (("pwv", "PWV [mm]", 1.0), ("tau", "aerosol tau", 1.0), ("alpha", "alpha", 1.0), ("o3", "O3 [DU]", 1.0),
            ("gray_mag", "visit gray [mmag]", 1000.0))
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(8.0, 0.5 * len(uniq) + 4), 2.0 * len(rows)), sharex=True)
    phot = data["photometric"].astype(bool)
    for ax, (col, label, scale) in zip(axes, rows):
        y = _floats(data[col]) * scale
        for band in ordered_bands(data["band"].tolist()):
            b = data["band"] == band
            ax.scatter(x[b & phot], y[b & phot], s=12, color=_colour(band), label=band)
            ax.scatter(x[b & ~phot], y[b & ~phot], s=12, facecolors="none", edgecolors=_colour(band))
        for k in range(len(uniq) + 1):
            ax.axvline(k - 0.1, color="0.85", lw=0.8, zorder=0)
        ax.set_ylabel(label)
        if col == "gray_mag":
            finite = y[np.isfinite(y)]
            if len(finite):
                ax.set_ylim(max(finite.min() - 5, GRAY_AXIS_MIN_MMAG), finite.max() + 5)
                below = int(np.sum(finite < GRAY_AXIS_MIN_MMAG))
                if below:
                    ax.text(0.01, 0.04, f"{below} visit(s) below {GRAY_AXIS_MIN_MMAG:.0f} mmag (thick cloud)",
                            transform=ax.transAxes, fontsize=8)
    axes[0].legend(fontsize=7, ncol=6, loc="upper right", title="filled: photometric, open: not", title_fontsize=7)
    axes[0].set_title("fitted atmosphere per visit, night by night")
    axes[-1].set_xticks(np.arange(len(uniq)) + 0.4)
    axes[-1].set_xticklabels([str(n) for n in uniq], rotation=90 if len(uniq) > 12 else 0, fontsize=7)
    axes[-1].set_xlabel("night (visits in time order within the night)")
    return _save(fig, out, "atmosphere_vs_time.png")


def _binned(x: np.ndarray, y: np.ndarray, edges: np.ndarray, stat: str) -> tuple[np.ndarray, np.ndarray]:
    idx = np.digitize(x, edges) - 1
    centres, values = [], []
    for k in range(len(edges) - 1):
        sel = idx == k
        if sel.sum() >= 10:
            centres.append(0.5 * (edges[k] + edges[k + 1]))
            v = y[sel]
            if stat == "rms":
                values.append(1.4826 * np.median(np.abs(v - np.median(v))))
            else:
                values.append(np.median(v))
    return np.asarray(centres), np.asarray(values)


def plot_repeatability(plt, data: dict, out: Path) -> Path:
    reserved = data["reserved"].astype(bool)
    bands = ordered_bands(data["band"][reserved].tolist())
    fig, axes = _panels(plt, max(len(bands), 1))
    if not bands:
        _no_data(fig, axes, "no observation of a reserved star\non a photometric visit")
    for ax, band in zip(axes[0], bands):
        sel = (data["band"] == band) & reserved
        mag = data["mag"][sel].astype(np.float64)
        res = data["residual"][sel].astype(np.float64) * 1000.0
        ax.scatter(mag, res, s=2, color="0.6", alpha=0.4, rasterized=True)
        if len(mag):
            edges = np.arange(np.floor(mag.min()), np.ceil(mag.max()) + MAG_BIN, MAG_BIN)
            c, rms = _binned(mag, res, edges, "rms")
            ax.plot(c, rms, "o-", color=_colour(band), label="robust rms")
            ax.plot(c, -rms, "o-", color=_colour(band))
            bright = res[mag < np.percentile(mag, 25)]
            note = f"{len(np.unique(data['star_id'][sel]))} reserved stars\nbrightest quarter: rms " \
                   f"{1.4826 * np.median(np.abs(bright - np.median(bright))):.1f} mmag"
            ax.text(0.02, 0.97, note, transform=ax.transAxes, va="top", fontsize=8)
        ax.set_ylim(-60, 60)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(f"{band}: reserved-star repeatability")
        ax.set_xlabel(f"standard magnitude {band} [mag]")
        ax.set_ylabel("observation - mean [mmag]")
        ax.legend(fontsize=7, loc="lower left")
    return _save(fig, out, "repeatability_vs_magnitude.png")


def _colour_of_stars(colours: dict) -> tuple[str, dict[int, float]]:
    """A colour index per star: g-i when both exist, else the bluest minus the reddest band."""
    bands = ordered_bands(colours["band"].tolist())
    if not bands:
        return "colour", {}
    blue, red = ("g", "i") if {"g", "i"} <= set(bands) else (bands[0], bands[-1])
    mags = {b: dict(zip(colours["star_id"][colours["band"] == b].tolist(),
                        colours["mag"][colours["band"] == b].astype(np.float64).tolist())) for b in (blue, red)}
    both = set(mags[blue]) & set(mags[red])
    return f"{blue}-{red}", {s: mags[blue][s] - mags[red][s] for s in both}


def plot_colour_residuals(plt, residuals: dict, colours: dict, out: Path) -> Path:
    bands = ordered_bands(residuals["band"].tolist())
    name, colour_of = _colour_of_stars(colours)
    has_ref = np.isfinite(_floats(colours["ref_mag"])).any()
    fig, axes = _panels(plt, max(len(bands), 1), rows=2 if has_ref else 1)
    if not bands:
        _no_data(fig, axes, "no calibration-star observation\non a photometric visit")
    star_colour = np.array([colour_of.get(s, np.nan) for s in residuals["star_id"].tolist()])
    edges = np.arange(-0.5, 3.51, 0.25)
    for ax, band in zip(axes[0], bands):
        sel = (residuals["band"] == band) & np.isfinite(star_colour)
        res = residuals["residual"][sel].astype(np.float64) * 1000.0
        col = star_colour[sel]
        airmass = _floats(residuals["airmass"][sel])
        for mask, label, style in ((airmass < AIRMASS_SPLIT, f"airmass < {AIRMASS_SPLIT}", "o-"),
                                   (airmass >= AIRMASS_SPLIT, f"airmass >= {AIRMASS_SPLIT}", "s--")):
            c, med = _binned(col[mask], res[mask], edges, "median")
            ax.plot(c, med, style, color=_colour(band), label=label, ms=4)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylim(-10, 10)
        ax.set_title(f"{band}: observation - mean vs colour")
        ax.set_xlabel(f"{name} [mag]")
        ax.set_ylabel("median residual [mmag]")
        ax.legend(fontsize=7)
    if has_ref:
        cstar = np.array([colour_of.get(s, np.nan) for s in colours["star_id"].tolist()])
        ref = _floats(colours["ref_mag"])
        for ax, band in zip(axes[1], bands):
            sel = (colours["band"] == band) & np.isfinite(ref) & np.isfinite(cstar)
            diff = (ref[sel] - colours["mag"][sel].astype(np.float64)) * 1000.0
            ax.scatter(cstar[sel], diff, s=3, color="0.6", alpha=0.5, rasterized=True)
            c, med = _binned(cstar[sel], diff, edges, "median")
            ax.plot(c, med, "o-", color=_colour(band), label="binned median")
            ax.axhline(0, color="k", lw=0.6)
            ax.set_ylim(-100, 100)
            ax.set_title(f"{band}: reference - standard vs colour")
            ax.set_xlabel(f"{name} [mag]")
            ax.set_ylabel("ref - std [mmag]")
            ax.legend(fontsize=7)
    return _save(fig, out, "residuals_vs_colour.png")


def plot_convergence(plt, data: dict, out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    cycles = data["cycle"].astype(np.int64)
    for band in ordered_bands(data["band"].tolist()):
        sel = data["band"] == band
        axes[0].plot(cycles[sel], _floats(data["repeatability_mmag"][sel]), "o-", color=_colour(band), label=band)
    axes[0].set_xlabel("cycle (last = final, no fit)")
    axes[0].set_ylabel("reserved raw repeatability [mmag]")
    axes[0].set_title("repeatability per cycle")
    axes[0].legend(fontsize=8)
    per_cycle = {c: _floats(data["chi2_per_dof"][cycles == c])[0] for c in np.unique(cycles)}
    axes[1].plot(list(per_cycle), list(per_cycle.values()), "ko-")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("cycle")
    axes[1].set_ylabel("chi2 / dof")
    axes[1].set_title("fit chi2 per cycle")
    for ax in axes:
        ax.set_xticks(np.unique(cycles))
    return _save(fig, out, "convergence.png")


def run_plots(db_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw the QA plots of the latest calibrate-tract run into ``out_dir``; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not Path(db_path).exists():
        raise FgcmDbError(f"no database at {db_path}: run `fgcm-db ingest` and `fgcm-db calibrate-tract` first")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FgcmDbError(f"--out {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with Database(db_path, read_only=True) as db:
        if not db.table_exists("tract_summary") or db.row_count("tract_summary") == 0:
            raise FgcmDbError(f"{db_path} has no calibrate-tract run to plot: run `fgcm-db calibrate-tract` first")
        run = _columns(db, "plots_latest_run", {})
        key = {"run_id": int(run["run_id"][0]), "cycle": int(run["final_cycle"][0])}
        with status(f"plots: drawing run {key['run_id']} into {out}"):
            written.append(plot_exp_gray(plt, _columns(db, "plots_exp_gray", key), out))
            written.append(_focal_plane(plt, _columns(db, "plots_focal_plane", key), "zero-point - visit median",
                                        out, "focal_plane_zeropoints.png"))
            written.append(_focal_plane(plt, _columns(db, "plots_focal_plane_gray", key),
                                        "detector gray - visit gray", out, "focal_plane_gray.png"))
            written.append(plot_atmosphere(plt, _columns(db, "plots_visit_atmosphere", key), out))
            residuals = _columns(db, "plots_star_residuals", key)
            written.append(plot_repeatability(plt, residuals, out))
            written.append(plot_colour_residuals(plt, residuals, _columns(db, "plots_star_colours", key), out))
            written.append(plot_convergence(plt, _columns(db, "plots_cycle_summary", key), out))
    say(f"plots: {len(written)} PNG files in {out}")
    return written
