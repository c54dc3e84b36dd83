"""Astrometric calibration: a rotation-grid offset vote, affine refinement, iterative TAN-SIP fitting
with two-sided radial clipping and re-matching, automatic SIP-order downgrade and quality gates.

The matcher is the "rotation-grid offset vote" of CALIBRATE_EXPOSURE.md 3.4 (written here from that
description): the brightest sources are compared with the brightest references projected through the
starting WCS; for each trial rotation within +-max_rotation_deg every source-reference offset within
+-max_offset_pix votes in a 2-d histogram, and the best peak must stand out of the Poisson background.
A wrong or partial match is never reported as a success: the gates on match count, match fraction,
spatial coverage, mean distance and the implied shift/rotation all have to pass.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree

from ..astro import angular_separation_deg
from ..configs.exposure import AstrometryConfig
from .errors import BadAstrometryFit, MatcherFailure
from .io import RefCatalog
from .wcsfit import TanSip, fit_tan_sip, poly_exponents

log = logging.getLogger(__name__)


@dataclasses.dataclass
class AstrometryResult:
    """A fitted WCS and its matches and statistics (arcsec unless named otherwise)."""

    wcs: TanSip
    src_index: np.ndarray          # matched source rows (into the measurement arrays)
    ref_index: np.ndarray          # matched reference rows (into the RefCatalog arrays)
    used: np.ndarray               # bool per match: survived clipping and entered the final fit
    separation: np.ndarray         # arcsec, per match, after the fit
    dra: np.ndarray                # arcsec, (ra_fit - ra_ref) cos(dec)
    ddec: np.ndarray               # arcsec
    order: int
    rms_ra: float
    rms_dec: float
    offset_mean: float
    offset_std: float
    shift_x_pix: float
    shift_y_pix: float
    rotation_deg: float
    n_candidates: int
    hull_fraction: float
    quadrant_counts: tuple[int, int, int, int]
    vote_peak: int
    vote_background: float
    warnings: list[str]

    @property
    def rms(self) -> float:
        """Per-axis residual RMS of the used matches, arcsec."""
        return float(np.sqrt(0.5 * (self.rms_ra**2 + self.rms_dec**2)))

    def diagnostics(self) -> dict:
        return {"n_match": int(len(self.src_index)), "n_used": int(self.used.sum()), "order": self.order,
                "rms_ra_arcsec": self.rms_ra, "rms_dec_arcsec": self.rms_dec,
                "offset_mean_arcsec": self.offset_mean, "hull_fraction": self.hull_fraction,
                "quadrants": ",".join(map(str, self.quadrant_counts)), "vote_peak": self.vote_peak,
                "vote_background": self.vote_background}


def _rotate(x, y, center, theta_deg):
    t = np.radians(theta_deg)
    c, s = np.cos(t), np.sin(t)
    dx, dy = x - center[0], y - center[1]
    return center[0] + c * dx - s * dy, center[1] + s * dx + c * dy


def offset_vote(sx, sy, rx, ry, center, cfg: AstrometryConfig) -> dict:
    """Best (rotation, shift) mapping reference pixels onto source pixels, by histogram voting.

    Returns a dict with theta (deg), dx, dy (pixels), peak (votes in the best 2x2-bin box),
    background (expected votes per box) and significance ((peak - bg) / sqrt(bg + 1)).
    """
    lim, width = cfg.max_offset_pix, cfg.vote_bin_pix
    nb = int(np.ceil(2 * lim / width))
    n_rot = int(np.floor(cfg.max_rotation_deg / cfg.rotation_step_deg + 1e-9))
    thetas = np.arange(-n_rot, n_rot + 1) * cfg.rotation_step_deg
    best = {"peak": -1}
    total_pairs = []
    for theta in thetas:
        qx, qy = _rotate(rx, ry, center, theta)
        dx = (sx[:, None] - qx[None, :]).ravel()
        dy = (sy[:, None] - qy[None, :]).ravel()
        keep = (np.abs(dx) < lim) & (np.abs(dy) < lim)
        dx, dy = dx[keep], dy[keep]
        total_pairs.append(len(dx))
        ix = np.minimum(((dx + lim) / width).astype(np.int64), nb - 1)
        iy = np.minimum(((dy + lim) / width).astype(np.int64), nb - 1)
        hist = np.bincount(iy * nb + ix, minlength=nb * nb).reshape(nb, nb)
        box = hist[:-1, :-1] + hist[1:, :-1] + hist[:-1, 1:] + hist[1:, 1:]
        k = int(np.argmax(box))
        peak = int(box.flat[k])
        if peak > best["peak"]:
            by, bx = divmod(k, nb - 1)
            sel = (ix >= bx) & (ix <= bx + 1) & (iy >= by) & (iy <= by + 1)
            best = {"peak": peak, "theta": float(theta), "dx": float(np.median(dx[sel])),
                    "dy": float(np.median(dy[sel]))}
    background = 4.0 * float(np.mean(total_pairs)) / nb**2
    best["background"] = background
    best["significance"] = (best["peak"] - background) / np.sqrt(background + 1.0)
    return best


def _mutual_nearest(ax, ay, bx, by, radius):
    """Index pairs (i in a, j in b) that are each other's nearest neighbour within ``radius``."""
    if len(ax) == 0 or len(bx) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ta, tb = cKDTree(np.c_[ax, ay]), cKDTree(np.c_[bx, by])
    d_ab, j = tb.query(np.c_[ax, ay], distance_upper_bound=radius)
    _, i_back = ta.query(np.c_[bx, by], distance_upper_bound=radius)
    i = np.arange(len(ax))
    ok = np.isfinite(d_ab)
    ok[ok] &= i_back[j[ok]] == i[ok]
    return i[ok], j[ok]


def _fit_affine(px, py, qx, qy):
    """Least-squares affine map (px, py) -> (qx, qy); returns a function."""
    design = np.c_[px - px.mean(), py - py.mean(), np.ones_like(px)]
    coef = np.linalg.solve(design.T @ design, design.T @ np.c_[qx, qy])
    mx, my = px.mean(), py.mean()
    return lambda x, y: tuple((np.c_[x - mx, y - my, np.ones_like(x)] @ coef).T)


def quadrant_counts(x, y, shape) -> tuple[int, int, int, int]:
    ny, nx = shape
    left, low = x < (nx - 1) / 2, y < (ny - 1) / 2
    return (int(np.sum(left & low)), int(np.sum(~left & low)), int(np.sum(left & ~low)), int(np.sum(~left & ~low)))


def hull_fraction(x, y, shape) -> float:
    """Area of the convex hull of the points over the chip area."""
    if len(x) < 3:
        return 0.0
    try:
        return float(ConvexHull(np.c_[x, y]).volume / (shape[0] * shape[1]))
    except QhullError:
        return 0.0


def _choose_order(x, y, shape, cfg: AstrometryConfig, warn: list[str]) -> int:
    n = len(x)
    quads = quadrant_counts(x, y, shape)
    hull = hull_fraction(x, y, shape)
    for order in range(cfg.sip_order, 0, -1):
        n_terms = len(poly_exponents(order))
        enough = n >= cfg.min_matches_per_term * n_terms
        covered = order == 1 or (min(quads) >= cfg.min_per_quadrant and hull >= cfg.min_hull_fraction)
        if enough and covered:
            if order < cfg.sip_order:
                warn.append(f"SIP order lowered from {cfg.sip_order} to {order}: {n} matches, quadrants "
                            f"{quads}, hull {hull:.2f} of the chip")
            return order
    return 1


def _sky_residuals(wcs: TanSip, x, y, ra, dec):
    ra_fit, dec_fit = wcs.pixel_to_sky(x, y)
    dra = ((ra_fit - ra + 180.0) % 360.0 - 180.0) * np.cos(np.radians(dec)) * 3600.0
    ddec = (dec_fit - dec) * 3600.0
    return dra, ddec


def _match_refs(wcs: TanSip, sx, sy, refs: RefCatalog, radius_pix: float):
    """Nearest reference (through ``wcs``) within ``radius_pix`` of each source, one-to-one (closest wins)."""
    rx, ry = wcs.sky_to_pixel(refs.ra, refs.dec)
    if len(rx) == 0 or len(sx) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d, j = cKDTree(np.c_[rx, ry]).query(np.c_[sx, sy], distance_upper_bound=radius_pix)
    i = np.flatnonzero(np.isfinite(d))
    j, d = j[i], d[i]
    order = np.argsort(d, kind="stable")
    _, first = np.unique(j[order], return_index=True)
    keep = np.sort(order[first])
    return i[keep], j[keep]


def solve_astrometry(x, y, snr, usable, refs: RefCatalog, start_wcs, shape, fwhm_pix: float,
                     pixel_scale_arcsec: float, cfg: AstrometryConfig) -> AstrometryResult:
    """Fit a TAN-SIP WCS for sources at 0-based pixels (x, y) against the reference catalog.

    Parameters
    ----------
    x, y, snr : per-source arrays; usable : bool, sources clean enough for astrometry
    refs : references around the exposure; start_wcs : astropy WCS (the starting WCS)
    shape : (ny, nx); fwhm_pix : PSF FWHM in pixels (sets centroid-error weights)

    Raises
    ------
    MatcherFailure
        No references in the footprint, too few good sources, or no significant vote peak.
    BadAstrometryFit
        A fit that fails a gate: match count or fraction, coverage, mean distance, scatter, limits.
    """
    warn: list[str] = []
    ny, nx = shape
    center = np.array([(nx - 1) / 2.0, (ny - 1) / 2.0])
    cand = np.flatnonzero(usable & (snr >= cfg.min_snr))
    cand = cand[np.argsort(-snr[cand], kind="stable")]
    pad = cfg.max_offset_pix
    rx0, ry0 = start_wcs.all_world2pix(refs.ra, refs.dec, 0, quiet=True) if len(refs.ra) else (np.zeros(0),) * 2
    in_window = ((rx0 > -pad) & (rx0 < nx - 1 + pad) & (ry0 > -pad) & (ry0 < ny - 1 + pad)
                 & np.isfinite(rx0) & np.isfinite(ry0))
    window = np.flatnonzero(in_window)
    diag = {"n_sources": int(len(cand)), "n_refs_window": int(len(window)), "max_offset_pix": cfg.max_offset_pix,
            "max_rotation_deg": cfg.max_rotation_deg}
    if len(window) == 0:
        raise MatcherFailure(
            f"0 reference objects within the footprint + {pad:g} px (of {refs.n_total} in {refs.path.name}); "
            "is the starting WCS or the reference catalog right?", diag)
    if len(cand) < cfg.min_matched_pairs:
        raise MatcherFailure(
            f"only {len(cand)} good sources with S/N >= {cfg.min_snr:g} (need {cfg.min_matched_pairs} for a "
            f"match; {len(window)} references in the footprint): blank, cloudy or tiny frame?", diag)

    bright = cand[: cfg.n_bright]
    wmag = refs.mag[window]
    ref_order = np.argsort(np.where(np.isfinite(wmag), wmag, np.inf), kind="stable")
    ref_bright = window[ref_order[: 3 * cfg.n_bright]]
    vote = offset_vote(x[bright], y[bright], rx0[ref_bright], ry0[ref_bright], center, cfg)
    diag.update(vote_peak=vote["peak"], vote_background=round(vote["background"], 3),
                vote_significance=round(vote["significance"], 2))
    if vote["significance"] < cfg.min_vote_significance or vote["peak"] < 6:
        raise MatcherFailure(
            f"no pattern match within +-{pad:g} px and +-{cfg.max_rotation_deg:g} deg: best vote peak "
            f"{vote['peak']} vs background {vote['background']:.1f} per bin "
            f"(significance {vote['significance']:.1f} < {cfg.min_vote_significance:g})", diag)

    # affine refinement in pixel space over shrinking radii
    qx, qy = _rotate(rx0[window], ry0[window], center, vote["theta"])
    qx, qy = qx + vote["dx"], qy + vote["dy"]
    px, py = rx0[window], ry0[window]
    for radius in (max(8.0, 2 * cfg.vote_bin_pix), 4.0, 2.0):
        i, j = _mutual_nearest(x[cand], y[cand], qx, qy, radius)
        if len(i) < 6:
            raise MatcherFailure(f"the vote peak did not survive refinement ({len(i)} pairs within {radius:g} px)",
                                 diag)
        transform = _fit_affine(px[j], py[j], x[cand][i], y[cand][i])
        qx, qy = transform(px, py)
    src, ref = cand[i], window[j]
    ax, ay = transform(np.array([center[0], center[0] + 1000.0]), np.array([center[1], center[1]]))
    rotation = float(np.degrees(np.arctan2(ay[1] - ay[0], ax[1] - ax[0])))
    shift = (float(ax[0] - center[0]), float(ay[0] - center[1]))

    sig_pix = np.hypot(fwhm_pix / (2.3548 * np.maximum(snr, 1.0)), cfg.centroid_err_floor_pix)
    weights_all = 1.0 / sig_pix**2
    crval_guess = tuple(float(v) for v in start_wcs.all_pix2world(center[0], center[1], 0))
    wcs = fit_tan_sip(x[src], y[src], refs.ra[ref], refs.dec[ref], shape, 1, crval_guess, weights_all[src])
    dra, ddec = _sky_residuals(wcs, x[src], y[src], refs.ra[ref], refs.dec[ref])
    rms_pix = float(np.sqrt(np.mean(dra**2 + ddec**2))) / pixel_scale_arcsec
    order = 1
    used = np.ones(len(src), bool)
    for it in range(cfg.n_iter):
        # the first re-match is generous (the affine/TAN solution may come from part of the chip and
        # extrapolate badly); later ones follow the fit RMS
        radius = max(cfg.min_match_radius_pix, cfg.match_radius_rms_factor * rms_pix,
                     2 * cfg.vote_bin_pix if it == 0 else 0.0)
        si, rj = _match_refs(wcs, x[cand], y[cand], _subset(refs, window), radius)
        src, ref = cand[si], window[rj]
        used = np.ones(len(src), bool)
        if len(src) < cfg.min_matched_pairs:
            break  # the gates below report it
        order = _choose_order(x[src], y[src], shape, cfg, [])
        for _ in range(3):
            wcs = fit_tan_sip(x[src][used], y[src][used], refs.ra[ref][used], refs.dec[ref][used], shape, order,
                              tuple(wcs.crval), weights_all[src][used])
            dra, ddec = _sky_residuals(wcs, x[src], y[src], refs.ra[ref], refs.dec[ref])
            # clip on residuals normalised by each star's expected centroid error (two-sided, radial)
            err = sig_pix[src] * pixel_scale_arcsec
            nra, ndec = dra / err, ddec / err
            scale = np.sqrt(0.5 * (_robust_sigma(nra[used]) ** 2 + _robust_sigma(ndec[used]) ** 2))
            new_used = np.hypot(nra, ndec) <= cfg.clip_sigma * max(scale, 1e-6)
            if np.array_equal(new_used, used) or new_used.sum() < len(poly_exponents(order)) + 2:
                break
            used = new_used
        rms_pix = float(np.sqrt(np.mean(dra[used] ** 2 + ddec[used] ** 2))) / pixel_scale_arcsec
    order = _choose_order(x[src][used], y[src][used], shape, cfg, warn)
    if used.sum() >= len(poly_exponents(order)):  # final fit on exactly the stars reported as used
        wcs = fit_tan_sip(x[src][used], y[src][used], refs.ra[ref][used], refs.dec[ref][used], shape, order,
                          tuple(wcs.crval), weights_all[src][used])
    dra, ddec = _sky_residuals(wcs, x[src], y[src], refs.ra[ref], refs.dec[ref])
    sep_arcsec = np.hypot(dra, ddec)

    n_match = len(src)
    quads = quadrant_counts(x[src][used], y[src][used], shape)
    hull = hull_fraction(x[src][used], y[src][used], shape)
    rx, ry = wcs.sky_to_pixel(refs.ra[window], refs.dec[window])
    n_ref_chip = int(np.sum((rx >= 0) & (rx <= nx - 1) & (ry >= 0) & (ry <= ny - 1)))
    result = AstrometryResult(
        wcs=wcs, src_index=src, ref_index=ref, used=used, separation=sep_arcsec, dra=dra, ddec=ddec, order=order,
        rms_ra=float(np.sqrt(np.mean(dra[used] ** 2))) if used.any() else float("nan"),
        rms_dec=float(np.sqrt(np.mean(ddec[used] ** 2))) if used.any() else float("nan"),
        offset_mean=float(np.mean(sep_arcsec)) if n_match else float("nan"),
        offset_std=float(np.std(sep_arcsec)) if n_match else float("nan"),
        shift_x_pix=shift[0], shift_y_pix=shift[1], rotation_deg=rotation, n_candidates=int(len(cand)),
        hull_fraction=hull, quadrant_counts=quads, vote_peak=int(vote["peak"]),
        vote_background=float(vote["background"]), warnings=warn)
    _check_gates(result, n_ref_chip, start_wcs, center, pixel_scale_arcsec, cfg, diag)
    return result


def _subset(refs: RefCatalog, idx: np.ndarray) -> RefCatalog:
    return dataclasses.replace(refs, ref_id=refs.ref_id[idx], ra=refs.ra[idx], dec=refs.dec[idx],
                               mag=refs.mag[idx], mag_err=refs.mag_err[idx],
                               mags={k: v[idx] for k, v in refs.mags.items()})


def _robust_sigma(values: np.ndarray) -> float:
    if len(values) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _check_gates(res: AstrometryResult, n_ref_chip: int, start_wcs, center, pixel_scale_arcsec: float,
                 cfg: AstrometryConfig, diag: dict) -> None:
    """Raise BadAstrometryFit unless every quality gate passes."""
    diag = {**diag, **res.diagnostics(), "n_ref_on_chip": n_ref_chip}
    n = len(res.src_index)
    frac = n / max(1, min(res.n_candidates, n_ref_chip))
    diag["match_fraction"] = round(frac, 3)
    if n < cfg.min_matched_pairs:
        raise BadAstrometryFit(f"only {n} astrometric matches (need {cfg.min_matched_pairs}); "
                               f"{res.n_candidates} candidates, {n_ref_chip} references on the chip", diag)
    if frac < cfg.min_frac_matched:
        raise BadAstrometryFit(f"only {100 * frac:.0f}% of min(candidates, references on chip) matched "
                               f"(need {100 * cfg.min_frac_matched:.0f}%): likely a wrong or partial match", diag)
    covered = min(res.quadrant_counts) >= cfg.min_per_quadrant or res.hull_fraction >= cfg.min_hull_fraction
    if not covered:
        raise BadAstrometryFit(
            f"poor coverage: matches per quadrant {res.quadrant_counts}, convex hull {res.hull_fraction:.2f} of "
            f"the chip (need >= {cfg.min_per_quadrant} in every quadrant or >= {cfg.min_hull_fraction:g}); "
            "do the references cover the whole exposure?", diag)
    if not res.offset_mean <= cfg.max_mean_distance_arcsec:
        raise BadAstrometryFit(f"mean match distance {res.offset_mean:.3f} arcsec > "
                               f"{cfg.max_mean_distance_arcsec:g}", diag)
    median = float(np.median(res.separation))
    if not median <= cfg.max_scatter_arcsec:
        raise BadAstrometryFit(f"median scatter on sky {median:.3f} arcsec > {cfg.max_scatter_arcsec:g}", diag)
    ra_c, dec_c = res.wcs.pixel_to_sky(center[0], center[1])
    sx, sy = start_wcs.all_world2pix(ra_c, dec_c, 0)
    moved = float(np.hypot(sx - center[0], sy - center[1]))
    slack = 2 * cfg.vote_bin_pix
    if moved > cfg.max_offset_pix + slack or abs(res.rotation_deg) > cfg.max_rotation_deg + cfg.rotation_step_deg:
        raise BadAstrometryFit(f"fitted WCS is {moved:.0f} px and {res.rotation_deg:.2f} deg from the starting WCS, "
                               f"beyond max_offset_pix {cfg.max_offset_pix:g} / max_rotation_deg "
                               f"{cfg.max_rotation_deg:g}", diag)
    start_sep = angular_separation_deg(*start_wcs.all_pix2world(center[0], center[1], 0), ra_c, dec_c) * 3600
    log.info("astrometry: %d matches (%d used), order %d, rms %.1f/%.1f mas, moved %.1f arcsec from start",
             n, int(res.used.sum()), res.order, 1e3 * res.rms_ra, 1e3 * res.rms_dec, float(start_sep))
