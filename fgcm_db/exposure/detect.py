"""Background, detection and measurement with ``sep`` (the SExtractor core as a library).

Detection follows LSST's semantics: a threshold in standard deviations of the PSF-smoothed image. sep
compares the image convolved with a unit-sum kernel against ``thresh * err``, so the per-pixel
threshold is scaled by the kernel's noise-reduction factor sqrt(sum k^2) / sum k (CALIBRATE_EXPOSURE.md
3.2). Centroids are windowed (SExtractor XWIN/YWIN), fluxes are circular apertures (12 and 17 px by
default) with errors from the VARIANCE plane, and pixel flags come from the MASK plane within a radius
of one PSF FWHM (LSST's "...Center" flags use the central 3x3 pixels).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import sep

from ..configs.exposure import DetectionConfig
from .errors import InputError
from .io import UNUSABLE_PLANES, Exposure

log = logging.getLogger(__name__)

#: bits of the per-source ``flags`` column (exposure_sources.flags), documented in readme_exposure.md
FLAG_BITS = {
    "edge": 0,         # EDGE mask bit within the flag radius, or the flag disk leaves the image
    "sat": 1,          # SAT within the flag radius
    "bad": 2,          # BAD or NO_DATA within the flag radius
    "interp": 3,       # INTRP within the flag radius
    "cr": 4,           # CR within the flag radius
    "blended": 5,      # sep deblended this object from a merged detection
    "ap_trunc": 6,     # the calibration aperture leaves the image
    "ap_masked": 7,    # the calibration aperture contains unusable or saturated pixels
    "sky_source": 8,   # a blank-sky measurement
    "centroid": 9,     # windowed centroid failed; the isophotal barycentre is used
    "suspect": 10,     # SUSPECT within the flag radius
}
#: circular aperture radii, pixels: the calibration flux (LSST's CalibFlux, apFlux_12_0) and apFlux_17_0
APERTURE_RADII = (12.0, 17.0)
CALIB_RADIUS = APERTURE_RADII[0]
#: flags that exclude a source from astrometric and photometric calibration
CALIB_REJECT = ("edge", "sat", "bad", "interp", "cr", "blended", "ap_trunc", "ap_masked", "sky_source",
                "centroid", "suspect")


def flag_mask(*names: str) -> int:
    """OR of the named FLAG_BITS."""
    return int(sum(1 << FLAG_BITS[n] for n in names))


@dataclasses.dataclass
class Measurement:
    """Measured sources (arrays of equal length, 0-based pixels) plus image statistics.

    ``flux[r]``, ``flux_err[r]``: counts in the aperture of radius r (pixels); ``flags``: FLAG_BITS;
    ``center_sat``, ``center_interp``, ``center_cr``: the mask bit is set within the central 3x3 pixels.
    """

    x: np.ndarray
    y: np.ndarray
    flux: dict[float, np.ndarray]
    flux_err: dict[float, np.ndarray]
    ap_flag: dict[float, np.ndarray]
    local_bkg: np.ndarray
    local_bkg_flag: np.ndarray
    flags: np.ndarray
    center_sat: np.ndarray
    center_interp: np.ndarray
    center_cr: np.ndarray
    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray
    npix: np.ndarray
    peak: np.ndarray
    ixx: np.ndarray
    iyy: np.ndarray
    ixy: np.ndarray
    half_light_radius: np.ndarray
    extendedness: np.ndarray
    sky_source: np.ndarray
    psf_fwhm_pix: float
    psf_fwhm_source: str
    background_mean: float
    background_rms: float

    def __len__(self) -> int:
        return len(self.x)

    @property
    def calib_flux(self) -> np.ndarray:
        return self.flux[CALIB_RADIUS]

    @property
    def calib_flux_err(self) -> np.ndarray:
        return self.flux_err[CALIB_RADIUS]

    @property
    def snr(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.calib_flux_err > 0, self.calib_flux / self.calib_flux_err, np.nan)

    def calib_usable(self) -> np.ndarray:
        """Sources free of every CALIB_REJECT flag, point-like and with a finite calibration flux."""
        return (((self.flags & flag_mask(*CALIB_REJECT)) == 0) & (self.extendedness < 0.5)
                & np.isfinite(self.calib_flux) & (self.calib_flux > 0))


def gaussian_kernel(sigma_pix: float) -> np.ndarray:
    """Unit-sum 2-d Gaussian kernel of half-size ceil(2.5 sigma).

    LSST uses a 7-sigma width; 5 sigma keeps 98.8% of the weight and cuts sep's convolution time by a
    third. The detection threshold uses this kernel's own noise-reduction factor, so its meaning is kept.
    """
    half = max(1, int(np.ceil(2.5 * sigma_pix)))
    r = np.arange(-half, half + 1)
    g = np.exp(-0.5 * (r / sigma_pix) ** 2)
    k = np.outer(g, g)
    return k / k.sum()


def _disk_bits(mask: np.ndarray, x: np.ndarray, y: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """OR of mask bits over the pixels within ``radius`` of each position, and whether the disk leaves the image."""
    ny, nx = mask.shape
    r = int(np.ceil(radius))
    off = np.arange(-r, r + 1)
    ox, oy = np.meshgrid(off, off)
    keep = ox**2 + oy**2 <= radius**2 + 1e-9
    ox, oy = ox[keep], oy[keep]
    ix = np.rint(x).astype(np.int64)[:, None] + ox[None, :]
    iy = np.rint(y).astype(np.int64)[:, None] + oy[None, :]
    outside = (ix < 0) | (ix >= nx) | (iy < 0) | (iy >= ny)
    vals = mask[np.clip(iy, 0, ny - 1), np.clip(ix, 0, nx - 1)]
    vals = np.where(outside, 0, vals)
    return np.bitwise_or.reduce(vals, axis=1), outside.any(axis=1)


def _extract(data, rms, mask, fwhm_pix, cfg: DetectionConfig, threshold: float):
    kernel = gaussian_kernel(fwhm_pix / 2.3548)
    factor = np.sqrt((kernel**2).sum()) / kernel.sum()
    sep.set_extract_pixstack(max(300000, data.size // 4))
    sep.set_sub_object_limit(4096)
    return sep.extract(data, threshold * factor, err=rms, mask=mask, minarea=cfg.min_area,
                       filter_kernel=kernel, filter_type="conv", deblend_nthresh=cfg.deblend_nthresh,
                       deblend_cont=cfg.deblend_cont, segmentation_map=True)


#: FWHM / half-light radius of a Moffat profile with beta = 3.5 sampled at pixel centres (an atmospheric
#: PSF); a Gaussian would give 2.0
FWHM_PER_HALF_LIGHT_RADIUS = 1.6


def _estimate_fwhm(data, objs, bad) -> float | None:
    """FWHM (pixels) = FWHM_PER_HALF_LIGHT_RADIUS x the median half-light radius of the brightest
    third of the unflagged detections."""
    good = (objs["flag"] == 0) & (objs["peak"] > 0)
    if good.sum() < 3:
        return None
    sel = np.flatnonzero(good)
    flux = objs["flux"][sel]
    sel = sel[np.argsort(flux)[::-1][: max(3, len(sel) // 3)]]
    r, flag = sep.flux_radius(data, objs["x"][sel], objs["y"][sel], np.full(len(sel), 15.0), 0.5,
                              mask=bad, subpix=1)
    r = r[(flag == 0) & np.isfinite(r) & (r > 0.5)]
    if len(r) < 3:
        return None
    return float(FWHM_PER_HALF_LIGHT_RADIUS * np.median(r))


def detect_and_measure(exp: Exposure, cfg: DetectionConfig, exposure_id: int,
                       warn: list[str] | None = None) -> Measurement:
    """Subtract the background, detect, deblend and measure the sources of ``exp``.

    The PSF FWHM comes from the header (PSF_FWHM, arcsec), else ``cfg.psf_fwhm_arcsec``, else it is
    estimated from the image (from the median half-light radius of the brightest clean detections).
    """
    warn = [] if warn is None else warn
    unusable = (exp.mask & exp.bits(*UNUSABLE_PLANES)) != 0
    sat = (exp.mask & exp.bits("SAT")) != 0
    image = exp.image.copy()
    image[unusable] = 0.0
    bkg = sep.Background(image, mask=unusable | sat, bw=cfg.background_bin, bh=cfg.background_bin, fw=3, fh=3)
    sub = image - bkg.back()
    sub[unusable] = 0.0
    rms = float(bkg.globalrms)
    if not np.isfinite(rms) or rms <= 0:
        raise InputError(f"{exp.path}: the background RMS is {rms}; the image has no usable sky pixels")

    fwhm_arcsec = exp.psf_fwhm_arcsec or cfg.psf_fwhm_arcsec
    source = "header PSF_FWHM" if exp.psf_fwhm_arcsec else "config psf_fwhm_arcsec"
    if fwhm_arcsec is None:
        guess = 1.0 / exp.pixel_scale_arcsec if exp.pixel_scale_arcsec < 0.5 else 3.0
        objs, _ = _extract(sub, rms, unusable, guess, cfg, max(cfg.threshold, 10.0))
        fwhm_pix = _estimate_fwhm(sub, objs, unusable)
        if fwhm_pix is None:
            fwhm_pix = guess
            warn.append(f"too few clean stars to estimate the PSF FWHM; assumed {guess:.2f} px")
            source = "assumed"
        else:
            source = "estimated from the image"
    else:
        fwhm_pix = fwhm_arcsec / exp.pixel_scale_arcsec
    objs, seg = _extract(sub, rms, unusable, fwhm_pix, cfg, cfg.threshold)
    n_det = len(objs)
    log.info("%d detections (PSF FWHM %.2f px, %s)", n_det, fwhm_pix, source)

    sig = fwhm_pix / 2.3548
    x, y = objs["x"].astype(np.float64), objs["y"].astype(np.float64)
    if n_det:
        xw, yw, wflag = sep.winpos(sub, x, y, np.full(n_det, sig), mask=unusable, subpix=0)
        ok = (wflag == 0) & np.isfinite(xw) & np.isfinite(yw) & (np.hypot(xw - x, yw - y) < 2 * fwhm_pix)
        x, y = np.where(ok, xw, x), np.where(ok, yw, y)
    else:
        ok = np.zeros(0, bool)

    sky_x, sky_y = _place_sky_sources(seg, unusable | sat, cfg, exposure_id)
    all_x, all_y = np.concatenate([x, sky_x]), np.concatenate([y, sky_y])
    n_all = len(all_x)
    is_sky = np.arange(n_all) >= n_det

    ap_mask = unusable | sat
    flux, flux_err, ap_flag = {}, {}, {}
    masked12 = np.zeros(n_all, bool)
    trunc12 = np.zeros(n_all, bool)
    for i, radius in enumerate(APERTURE_RADII):
        f, fe, fl = (sep.sum_circle(sub, all_x, all_y, radius, var=exp.variance, mask=ap_mask, subpix=0)
                     if n_all else (np.zeros(0),) * 3)
        fl = np.asarray(fl, dtype=np.int64)
        flux[float(radius)], flux_err[float(radius)] = np.asarray(f, float), np.asarray(fe, float)
        ap_flag[float(radius)] = ((fl & (sep.APER_TRUNC | sep.APER_ALLMASKED)) != 0) | ~np.isfinite(f)
        if i == 0:
            masked12 = (fl & sep.APER_HASMASKED) != 0
            trunc12 = (fl & sep.APER_TRUNC) != 0

    inner, outer = cfg.local_background_annulus
    bkg_mask = unusable | sat | (seg > 0)
    if n_all:
        s_ann, _, _ = sep.sum_circann(sub, all_x, all_y, inner, outer, mask=bkg_mask, subpix=1)
        area, _, _ = sep.sum_circann(np.ones_like(sub), all_x, all_y, inner, outer, mask=bkg_mask, subpix=1)
    else:
        s_ann = area = np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        local_bkg = np.where(area > 10, s_ann / area, np.nan)

    flag_radius = cfg.flag_radius_fwhm * fwhm_pix
    any_bits, off_image = _disk_bits(exp.mask, all_x, all_y, flag_radius)
    center_bits, _ = _disk_bits(exp.mask, all_x, all_y, 1.5)
    flags = np.zeros(n_all, np.int64)
    for name, planes in (("edge", ("EDGE",)), ("sat", ("SAT",)), ("bad", ("BAD", "NO_DATA")),
                         ("interp", ("INTRP",)), ("cr", ("CR",)), ("suspect", ("SUSPECT",))):
        flags |= np.where((any_bits & exp.bits(*planes)) != 0, 1 << FLAG_BITS[name], 0)
    flags |= np.where(off_image, 1 << FLAG_BITS["edge"], 0)
    blended = np.concatenate([(objs["flag"] & sep.OBJ_MERGED) != 0, np.zeros(len(sky_x), bool)])
    flags |= np.where(blended, 1 << FLAG_BITS["blended"], 0)
    flags |= np.where(trunc12, 1 << FLAG_BITS["ap_trunc"], 0)
    flags |= np.where(masked12, 1 << FLAG_BITS["ap_masked"], 0)
    flags |= np.where(is_sky, 1 << FLAG_BITS["sky_source"], 0)
    flags |= np.where(np.concatenate([~ok, np.zeros(len(sky_x), bool)]), 1 << FLAG_BITS["centroid"], 0)

    calib, calib_err = flux[CALIB_RADIUS], flux_err[CALIB_RADIUS]
    if n_all:
        rhalf, rflag = sep.flux_radius(sub, all_x, all_y, np.full(n_all, CALIB_RADIUS), 0.5,
                                       normflux=np.where(calib > 0, calib, 1.0), mask=ap_mask, subpix=1)
    else:
        rhalf = rflag = np.zeros(0)
    rhalf = np.where((np.asarray(rflag) == 0) & (calib > 0), rhalf, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(calib_err > 0, calib / calib_err, np.nan)
    extendedness = _extendedness(rhalf, snr, flags, cfg.extended_radius_factor)
    extendedness[is_sky] = np.nan

    def det_or_nan(col, dtype=np.float64):
        return np.concatenate([np.asarray(objs[col], dtype=dtype), np.full(len(sky_x), np.nan)])

    return Measurement(
        x=all_x, y=all_y, flux=flux, flux_err=flux_err, ap_flag=ap_flag, local_bkg=local_bkg,
        local_bkg_flag=~np.isfinite(local_bkg), flags=flags,
        center_sat=(center_bits & exp.bits("SAT")) != 0, center_interp=(center_bits & exp.bits("INTRP")) != 0,
        center_cr=(center_bits & exp.bits("CR")) != 0,
        a=det_or_nan("a"), b=det_or_nan("b"), theta=det_or_nan("theta"),
        npix=np.concatenate([objs["npix"].astype(np.int64), np.zeros(len(sky_x), np.int64)]),
        peak=det_or_nan("peak"), ixx=det_or_nan("x2"), iyy=det_or_nan("y2"), ixy=det_or_nan("xy"),
        half_light_radius=rhalf, extendedness=extendedness, sky_source=is_sky, psf_fwhm_pix=float(fwhm_pix),
        psf_fwhm_source=source, background_mean=float(bkg.globalback), background_rms=rms,
    )


def _extendedness(rhalf: np.ndarray, snr: np.ndarray, flags: np.ndarray, factor: float) -> np.ndarray:
    """1 for sources larger than point sources, 0 for point-like, NaN when unmeasured.

    The point-source half-light radius is the 30th percentile of clean S/N > 20 sources (stars form the
    small-size edge of the size distribution); a source is extended when its half-light radius exceeds
    it by ``factor + 3 / snr`` (the S/N term keeps noisy faint stars point-like).
    """
    clean = np.isfinite(rhalf) & (snr > 20) & (flags == 0)
    if clean.sum() < 5:
        return np.where(np.isfinite(rhalf), 0.0, np.nan)
    psf_rhalf = np.percentile(rhalf[clean], 30)
    with np.errstate(invalid="ignore", divide="ignore"):
        ext = rhalf > psf_rhalf * (factor + 3.0 / np.where(snr > 1, snr, 1.0))
    return np.where(np.isfinite(rhalf), ext.astype(float), np.nan)


def _place_sky_sources(seg: np.ndarray, bad: np.ndarray, cfg: DetectionConfig,
                       exposure_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n_sky_sources`` non-overlapping positions whose disk of ``sky_source_radius`` holds no
    detected or bad pixel and lies inside the image.

    Candidates sit one per cell of a jittered grid (cells wider than the disk, so disks never overlap);
    the free ones are sampled at random, seeded by (seed, exposure_id) for reproducibility.
    """
    n = cfg.n_sky_sources
    ny, nx = seg.shape
    r = cfg.sky_source_radius
    cell = max(2 * r + 2, np.sqrt(nx * ny / (4.0 * max(n, 1))))
    if n <= 0 or nx < cell or ny < cell:
        return np.zeros(0), np.zeros(0)
    rng = np.random.default_rng([cfg.seed, exposure_id & 0x7FFFFFFF])
    gx, gy = np.meshgrid(np.arange(int(nx // cell)), np.arange(int(ny // cell)))
    jitter = cell / 2 - r - 1
    cx = (gx.ravel() + 0.5) * cell + rng.uniform(-jitter, jitter, gx.size)
    cy = (gy.ravel() + 0.5) * cell + rng.uniform(-jitter, jitter, gy.size)
    blocked = ((seg > 0) | bad).astype(np.int64)
    bits, off = _disk_bits(blocked, cx, cy, r)
    free = np.flatnonzero((bits == 0) & ~off)
    idx = np.sort(rng.permutation(free)[:n])
    return cx[idx], cy[idx]
