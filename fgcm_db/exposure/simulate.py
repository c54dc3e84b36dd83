"""Simulated exposures with known truth, for tests and benchmarks (plain numpy, no GalSim).

Stars with magnitudes drawn from dN/dm ~ 10^(0.3 m) are placed uniformly over the chip plus a margin,
their sky positions come from a true TAN-SIP WCS (order 3, a few pixels of distortion), and a Moffat
PSF (beta 3.5) sampled at pixel centres is rendered with Poisson-like Gaussian noise on a subtracted
sky. Saturated stars, a bad column and an edge border carry their mask bits. The IMAGE header holds
a deliberately wrong starting WCS (pure TAN, shifted and rotated), as a telescope pointing model would.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sep
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from .wcsfit import TanSip, fit_inverse

MASK_PLANES = {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5, "NO_DATA": 8}


@dataclasses.dataclass
class SimConfig:
    """Parameters of a simulated exposure (units in the names or comments)."""

    nx: int = 2048
    ny: int = 2048
    pixel_scale_arcsec: float = 0.2
    rotation_deg: float = 12.0             # sky position angle of the chip axes
    center_ra: float = 150.0
    center_dec: float = 2.0
    max_distortion_pix: float = 2.0         # largest SIP displacement over the chip
    fwhm_arcsec: float = 0.8
    moffat_beta: float = 3.5
    n_stars: int = 3000                     # over the chip plus margin
    margin_pix: float = 300.0
    mag_range: tuple[float, float] = (14.0, 24.0)
    n_saturated: int = 6                    # extra stars of 11.5-13.5 mag
    zp: float = 30.0                        # AB mag of one count of total flux
    color_term: float = 0.0                 # instrumental mag = r + color_term * (g - r)
    sky: float = 800.0                      # counts per pixel (subtracted, leaving a gradient)
    sky_gradient: float = 3.0               # counts, amplitude of the residual gradient
    read_noise: float = 5.0                 # counts
    saturation: float = 50000.0             # counts (sky included)
    bad_column: int | None = 700
    edge_pix: int = 2
    exptime: float = 30.0                   # seconds
    start_shift_pix: tuple[float, float] = (25.0, -18.0)
    start_rotation_deg: float = 0.3
    band: str = "r"
    physical_filter: str = "HSC-R"
    visit: int = 1228
    detector: int = 42
    mjd: float = 60000.2
    seed: int = 42


@dataclasses.dataclass
class SimulatedExposure:
    """Planes, headers and truth of a simulated exposure."""

    config: SimConfig
    image: np.ndarray
    mask: np.ndarray
    variance: np.ndarray
    true_wcs: TanSip
    start_wcs: TanSip
    stars: dict[str, np.ndarray]            # x, y (true, 0-based), ra, dec, r_mag, g_mag, inst_mag, flux
    zp_true_ap12: float                     # zero-point of the 12-px aperture flux, mag

    def write(self, path: str | Path, dtype: str = ">f4", header_extra: dict | None = None) -> Path:
        """Write the LSST-layout FITS file (IMAGE/MASK/VARIANCE); ``dtype`` of the float planes."""
        cfg = self.config
        primary = fits.PrimaryHDU()
        for key, value in {"EXPTIME": cfg.exptime, "FILTER": cfg.physical_filter, "MJD-OBS": cfg.mjd,
                           "PSF_FWHM": cfg.fwhm_arcsec, "VISIT": cfg.visit, "DETECTOR": cfg.detector,
                           **(header_extra or {})}.items():
            if value is None:
                primary.header.remove(key, ignore_missing=True)
            else:
                primary.header[key] = value
        wcs_header = self.start_wcs.to_header()
        image = fits.ImageHDU(self.image.astype(dtype), header=wcs_header, name="IMAGE")
        mask = fits.ImageHDU(self.mask.astype(np.int32), header=wcs_header, name="MASK")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            for name, bit in MASK_PLANES.items():
                mask.header[f"MP_{name}"] = bit
        variance = fits.ImageHDU(self.variance.astype(dtype), header=wcs_header, name="VARIANCE")
        path = Path(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)  # MP_NO_DATA etc. are HIERARCH cards, as in LSST
            fits.HDUList([primary, image, mask, variance]).writeto(path, overwrite=True)
        return path

    def write_refcat(self, path: str | Path, ra_offset_deg: float = 0.0, keep: np.ndarray | None = None,
                     mag_noise: float = 0.0, corrupt_fraction: float = 0.0, seed: int = 7,
                     as_flux: bool = False) -> Path:
        """Write the reference catalog (parquet): id, ra, dec, r/g mags (or nJy fluxes) and errors.

        ``keep`` selects stars; ``corrupt_fraction`` of the r magnitudes get +-1 mag added.
        """
        rng = np.random.default_rng(seed)
        s = self.stars
        sel = np.ones(len(s["ra"]), bool) if keep is None else keep
        n = int(sel.sum())
        r = s["r_mag"][sel] + rng.normal(0, mag_noise, n) if mag_noise else s["r_mag"][sel].copy()
        g = s["g_mag"][sel]
        if corrupt_fraction:
            bad = rng.random(n) < corrupt_fraction
            r[bad] += rng.choice([-1.0, 1.0], int(bad.sum()))
        cols = {"id": np.arange(len(s["ra"]))[sel].astype(np.int64), "ra": s["ra"][sel] + ra_offset_deg,
                "dec": s["dec"][sel]}
        err = np.full(n, max(mag_noise, 0.01))
        for band, mag in (("r", r), ("g", g)):
            if as_flux:
                flux = 10 ** (-0.4 * (mag - 31.4))
                cols[f"{band}_flux"], cols[f"{band}_fluxErr"] = flux, flux * err / 1.0857
            else:
                cols[f"{band}_mag"], cols[f"{band}_magErr"] = mag, err
        path = Path(path)
        pq.write_table(pa.table(cols), path)
        return path


def _true_wcs(cfg: SimConfig) -> TanSip:
    scale = cfg.pixel_scale_arcsec / 3600.0
    th = np.radians(cfg.rotation_deg)
    cd = scale * np.array([[-np.cos(th), np.sin(th)], [np.sin(th), np.cos(th)]])
    a = {(2, 0): 4e-7, (1, 1): -3e-7, (0, 2): 2e-7, (3, 0): 5e-10, (2, 1): 2e-10, (1, 2): -4e-10, (0, 3): 1e-10}
    b = {(2, 0): -2e-7, (1, 1): 3e-7, (0, 2): 5e-7, (3, 0): -1e-10, (2, 1): 4e-10, (1, 2): 2e-10, (0, 3): -5e-10}
    crpix = np.array([(cfg.nx - 1) / 2.0, (cfg.ny - 1) / 2.0])
    gx, gy = np.meshgrid(np.linspace(0, cfg.nx - 1, 33) - crpix[0], np.linspace(0, cfg.ny - 1, 33) - crpix[1])
    disp = np.hypot(TanSip._poly(a, gx, gy), TanSip._poly(b, gx, gy)).max()
    k = cfg.max_distortion_pix / disp if disp > 0 else 0.0
    a = {e: c * k for e, c in a.items()}
    b = {e: c * k for e, c in b.items()}
    wcs = TanSip(crpix=crpix, crval=np.array([cfg.center_ra, cfg.center_dec]), cd=cd, order=3, a=a, b=b,
                 ap={}, bp={}, shape=(cfg.ny, cfg.nx))
    fit_inverse(wcs, 4)
    return wcs


def _start_wcs(cfg: SimConfig, true: TanSip) -> TanSip:
    th = np.radians(cfg.start_rotation_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return TanSip(crpix=true.crpix + np.asarray(cfg.start_shift_pix), crval=true.crval.copy(), cd=true.cd @ rot,
                  order=1, a={}, b={}, ap={}, bp={}, shape=true.shape)


def moffat_alpha(fwhm_pix: float, beta: float) -> float:
    """Moffat core width alpha (pixels) for a FWHM (pixels)."""
    return fwhm_pix / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))


def render_stars(shape: tuple[int, int], x, y, flux, fwhm_pix: float, beta: float, radius: int = 20) -> np.ndarray:
    """Sum of Moffat stars sampled at pixel centres (unit-integral profile times ``flux``), float64."""
    ny, nx = shape
    x, y, flux = (np.asarray(v, dtype=np.float64) for v in (x, y, flux))
    on = (x > -radius) & (x < nx + radius) & (y > -radius) & (y < ny + radius)
    x, y, flux = x[on], y[on], flux[on]
    alpha = moffat_alpha(fwhm_pix, beta)
    off = np.arange(-radius, radius + 1)
    ox, oy = np.meshgrid(off, off)
    ox, oy = ox.ravel(), oy.ravel()
    ix = np.rint(x).astype(np.int64)[:, None] + ox[None, :]
    iy = np.rint(y).astype(np.int64)[:, None] + oy[None, :]
    r2 = (ix - x[:, None]) ** 2 + (iy - y[:, None]) ** 2
    values = flux[:, None] * (beta - 1.0) / (np.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return np.bincount((iy * nx + ix)[inside], weights=values[inside], minlength=nx * ny).reshape(ny, nx)


def aperture_fraction(fwhm_pix: float, beta: float, radius: float, n: int = 16, seed: int = 3) -> float:
    """Fraction of a star's flux that ``sep.sum_circle`` measures in an aperture of ``radius`` pixels,
    averaged over sub-pixel positions of the noiseless sampled profile."""
    rng = np.random.default_rng(seed)
    size = int(2 * radius + 50)
    xs = size / 2 + rng.random(n)
    ys = size / 2 + rng.random(n)
    total = []
    for xc, yc in zip(xs, ys):
        img = render_stars((size, size), [xc], [yc], [1.0], fwhm_pix, beta, radius=size // 2 - 1)
        total.append(sep.sum_circle(img, [xc], [yc], radius)[0][0])
    return float(np.mean(total))


def simulate_exposure(cfg: SimConfig | None = None) -> SimulatedExposure:
    """Render a simulated exposure with known WCS and zero-point (``cfg.seed`` fixes everything)."""
    cfg = cfg or SimConfig()
    rng = np.random.default_rng(cfg.seed)
    true = _true_wcs(cfg)
    n = cfg.n_stars
    m0, m1 = cfg.mag_range
    k = 0.3 * np.log(10)
    u = rng.random(n)
    mags = np.log(np.exp(k * m0) + u * (np.exp(k * m1) - np.exp(k * m0))) / k
    mags = np.concatenate([mags, rng.uniform(11.5, 13.5, cfg.n_saturated)])
    n_all = len(mags)
    x = rng.uniform(-cfg.margin_pix, cfg.nx - 1 + cfg.margin_pix, n_all)
    y = rng.uniform(-cfg.margin_pix, cfg.ny - 1 + cfg.margin_pix, n_all)
    x[n:] = rng.uniform(100, cfg.nx - 100, cfg.n_saturated)
    y[n:] = rng.uniform(100, cfg.ny - 100, cfg.n_saturated)
    ra, dec = true.pixel_to_sky(x, y)
    color = rng.normal(0.7, 0.35, n_all)
    inst = mags + cfg.color_term * color
    flux = 10 ** (-0.4 * (inst - cfg.zp))
    fwhm_pix = cfg.fwhm_arcsec / cfg.pixel_scale_arcsec
    signal = render_stars((cfg.ny, cfg.nx), x, y, flux, fwhm_pix, cfg.moffat_beta)
    gy, gx = np.mgrid[0:cfg.ny, 0:cfg.nx]
    gradient = cfg.sky_gradient * (gx / cfg.nx - 0.5 + gy / cfg.ny - 0.5)
    variance = cfg.sky + signal + cfg.read_noise**2
    image = signal + gradient + rng.standard_normal((cfg.ny, cfg.nx)) * np.sqrt(variance)
    mask = np.zeros((cfg.ny, cfg.nx), np.int32)
    sat = image + cfg.sky >= cfg.saturation
    image[sat] = cfg.saturation - cfg.sky
    mask[sat] |= 1 << MASK_PLANES["SAT"]
    if cfg.bad_column is not None and 0 <= cfg.bad_column < cfg.nx:
        mask[:, cfg.bad_column] |= 1 << MASK_PLANES["BAD"]
        image[:, cfg.bad_column] = 0.0
    e = cfg.edge_pix
    if e:
        edge = np.ones((cfg.ny, cfg.nx), bool)
        edge[e:-e, e:-e] = False
        mask[edge] |= 1 << MASK_PLANES["EDGE"]
    ee12 = aperture_fraction(fwhm_pix, cfg.moffat_beta, 12.0)
    stars = {"x": x, "y": y, "ra": ra, "dec": dec, "r_mag": mags, "g_mag": mags + color, "inst_mag": inst,
             "flux": flux}
    return SimulatedExposure(config=cfg, image=image.astype(np.float32), mask=mask,
                             variance=variance.astype(np.float32), true_wcs=true, start_wcs=_start_wcs(cfg, true),
                             stars=stars, zp_true_ap12=cfg.zp + 2.5 * np.log10(ee12))
