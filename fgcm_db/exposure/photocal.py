"""Photometric zero-point of one exposure against a reference catalog.

The estimator follows the getZeroPoint algorithm of LSST's PhotoCalTask as described in
CALIBRATE_EXPOSURE.md 2.6 (re-written, with its known flaws fixed): dmag = ref - inst for matched clean
stars; a crude histogram mode starts the clipping; each iteration keeps |dmag - centre| <
n_sigma * min(sigma, sigma_max) with centre = median and sigma = 0.7413 IQR of the survivors; the
zero-point is the inverse-variance weighted mean of the survivors. Unlike LSST, zero survivors is an
error (no silent fallback), and we report both the formal error of the mean (LSST's MAGZERO_RMS) and
the star-to-star scatter (the clipped RMS), plus a total error with a systematic floor.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
from scipy.spatial import cKDTree

from ..configs.exposure import PhotocalConfig
from ..configs.stars import ColorTerm
from .errors import PhotoCalError
from .io import RefCatalog
from .wcsfit import TanSip

log = logging.getLogger(__name__)

MAG_PER_LN = 2.5 / np.log(10.0)


@dataclasses.dataclass
class ZeroPoint:
    """Result of :func:`zero_point` (mag)."""

    zp: float          # inverse-variance weighted mean of the surviving dmag
    err: float         # formal error of that mean, sqrt(1 / sum w)
    scatter: float     # RMS of the surviving dmag about zp (star-to-star)
    n: int             # survivors
    used: np.ndarray   # bool per input star


def zero_point(dmag: np.ndarray, dmag_err: np.ndarray, cfg: PhotocalConfig) -> ZeroPoint:
    """Clipped, inverse-variance weighted mean of ``dmag`` (ref - instrumental), mag.

    Raises
    ------
    PhotoCalError
        No finite input, or clipping leaves no star.
    """
    dmag = np.asarray(dmag, dtype=np.float64)
    err = np.hypot(np.asarray(dmag_err, dtype=np.float64), cfg.mag_err_floor)
    finite = np.isfinite(dmag) & np.isfinite(err) & (err > 0)
    if not finite.any():
        raise PhotoCalError("no finite magnitude differences for the zero-point", {"n_input": int(len(dmag))})
    d = dmag[finite]
    centre, sigma = _crude_mode(d)
    keep = np.ones(len(d), bool)
    for _ in range(cfg.n_iter):
        new_keep = np.abs(d - centre) < cfg.n_sigma * min(sigma, cfg.sigma_max)
        if not new_keep.any():
            raise PhotoCalError(f"sigma clipping around {centre:.3f} mag left no star of {len(d)}",
                                {"n_input": int(len(d)), "centre": float(centre), "sigma": float(sigma)})
        converged = np.array_equal(new_keep, keep)
        keep = new_keep
        centre = float(np.median(d[keep]))
        q25, q75 = np.percentile(d[keep], [25, 75])
        sigma = max(0.7413 * (q75 - q25), 1e-4)
        if converged:
            break
    w = 1.0 / err[finite][keep] ** 2
    zp = float(np.sum(w * d[keep]) / np.sum(w))
    used = np.zeros(len(dmag), bool)
    used[np.flatnonzero(finite)[keep]] = True
    scatter = float(np.sqrt(np.mean((d[keep] - zp) ** 2)))
    return ZeroPoint(zp=zp, err=float(np.sqrt(1.0 / np.sum(w))), scatter=scatter, n=int(keep.sum()), used=used)


def _crude_mode(d: np.ndarray) -> tuple[float, float]:
    """Starting centre and width: the peak of a 20-bin histogram and its half-maximum width / 2.3,
    or the median and IQR / 2.3 when the highest bins are not contiguous."""
    if len(d) < 3 or np.ptp(d) == 0:
        return float(np.median(d)), 0.1
    hist, edges = np.histogram(d, bins=20)
    peaks = np.flatnonzero(hist == hist.max())
    if np.all(np.diff(peaks) == 1):
        lo, hi = peaks[0], peaks[-1]
        while lo > 0 and hist[lo - 1] >= hist.max() / 2:
            lo -= 1
        while hi < len(hist) - 1 and hist[hi + 1] >= hist.max() / 2:
            hi += 1
        centre = 0.5 * (edges[peaks[0]] + edges[peaks[-1] + 1])
        return float(centre), float(max((edges[hi + 1] - edges[lo]) / 2.3, 1e-3))
    q25, q75 = np.percentile(d, [25, 75])
    return float(np.median(d)), float(max((q75 - q25) / 2.3, 1e-3))


def reference_magnitudes(refs: RefCatalog, band: str, term: ColorTerm | None) -> np.ndarray:
    """Reference magnitudes in the instrument band: p + c0 + c1 (p - s) + c2 (p - s)^2 with a colour term,
    else the catalog's ``band`` magnitudes."""
    if term is None:
        return refs.mag
    p, s = refs.mags[term.primary], refs.mags[term.secondary]
    color = p - s
    return p + term.c0 + term.c1 * color + term.c2 * color**2


@dataclasses.dataclass
class PhotoCalResult:
    """Zero-point fit with its matches (source rows, reference rows) and per-match flags."""

    zp: ZeroPoint
    src_index: np.ndarray
    ref_index: np.ndarray
    used: np.ndarray          # per match: entered the final weighted mean
    reserved: np.ndarray      # per match: held out
    counts: dict[str, int]    # stars left after each selection step
    color_term: ColorTerm | None


def calibrate_photometry(x, y, flux, flux_err, usable, refs: RefCatalog, wcs: TanSip, pixel_scale_arcsec: float,
                         band: str, cfg: PhotocalConfig, term: ColorTerm | None, seed_key: int
                         ) -> PhotoCalResult:
    """Match sources to references with the fitted WCS and compute the zero-point.

    Parameters
    ----------
    x, y : 0-based source pixels; flux, flux_err : calibration-aperture counts
    usable : bool per source, clean point sources (flags, extendedness)
    seed_key : combined with ``cfg.reserve_seed`` to draw the reserved stars reproducibly

    Raises
    ------
    PhotoCalError
        No usable reference photometry, no matches, every match reserved, or fewer than min_stars.
    """
    ref_mag = reference_magnitudes(refs, band, term)
    counts = {"n_refs": int(len(ref_mag)), "n_refs_with_mag": int(np.isfinite(ref_mag).sum())}
    if counts["n_refs_with_mag"] == 0:
        raise PhotoCalError(f"no usable reference photometry: all {band} magnitudes/fluxes in the field are "
                            "NaN or <= 0", counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(flux_err > 0, flux / flux_err, np.nan)
    good = usable & (snr >= cfg.min_snr)
    counts["n_sources_clean"] = int(usable.sum())
    counts["n_sources_snr"] = int(good.sum())
    ref_ok = np.isfinite(ref_mag)
    if cfg.ref_mag_bright is not None:
        ref_ok &= ref_mag >= cfg.ref_mag_bright
    if cfg.ref_mag_faint is not None:
        ref_ok &= ref_mag <= cfg.ref_mag_faint
    counts["n_refs_selected"] = int(ref_ok.sum())
    src = np.flatnonzero(good)
    rsel = np.flatnonzero(ref_ok)
    rx, ry = wcs.sky_to_pixel(refs.ra[rsel], refs.dec[rsel])
    radius = cfg.match_radius_arcsec / pixel_scale_arcsec
    if len(src) and len(rsel):
        d, j = cKDTree(np.c_[rx, ry]).query(np.c_[x[src], y[src]], distance_upper_bound=radius)
        hit = np.isfinite(d)
        src, ref, d = src[hit], rsel[j[hit]], d[hit]
        order = np.argsort(d, kind="stable")
        _, first = np.unique(ref[order], return_index=True)
        keep = np.sort(order[first])
        src, ref = src[keep], ref[keep]
    else:
        ref = np.zeros(0, np.int64)
        src = np.zeros(0, np.int64)
    counts["n_matched"] = int(len(src))
    rng = np.random.default_rng([cfg.reserve_seed, seed_key & 0x7FFFFFFF])
    reserved = rng.random(len(src)) < cfg.reserve_fraction
    counts["n_reserved"] = int(reserved.sum())
    fit = ~reserved
    if not fit.any():
        raise PhotoCalError("no matches to use for photocal: " + ", ".join(f"{k}={v}" for k, v in counts.items()),
                            counts)
    inst = -2.5 * np.log10(flux[src])
    inst_err = MAG_PER_LN * flux_err[src] / flux[src]
    dmag = ref_mag[ref] - inst
    zp = zero_point(dmag[fit], inst_err[fit], cfg)
    counts["n_zp"] = zp.n
    if zp.n < cfg.min_stars:
        raise PhotoCalError(f"only {zp.n} stars for the zero-point (need {cfg.min_stars}): "
                            + ", ".join(f"{k}={v}" for k, v in counts.items()), counts)
    used = np.zeros(len(src), bool)
    used[np.flatnonzero(fit)[zp.used]] = True
    log.info("zero-point %.4f +- %.4f (scatter %.3f, %d stars)", zp.zp, zp.err, zp.scatter, zp.n)
    return PhotoCalResult(zp=zp, src_index=src, ref_index=ref, used=used, reserved=reserved, counts=counts,
                          color_term=term)
