"""A linear least-squares TAN-SIP WCS fitter with a fitted inverse (AP/BP).

The idea follows the linear formulation of LSST's CreateWcsWithSip (and the SIP convention of Shupe
et al. 2005, ASP Conf. Ser. 347, 491): with CRPIX fixed at the chip centre, the gnomonic standard
coordinates (xi, eta) of the references about CRVAL are full polynomials in the pixel offsets (u, v).
CRVAL is moved until the constant terms vanish, the linear terms form CD and CD^-1 times the
higher-order terms are the SIP A/B coefficients. The inverse AP/BP polynomial (order + 1) is fitted
on a grid over the chip. Pixels are 0-based; FITS CRPIX = centre + 1 appears only in headers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, Sip

from ..astro import sky_to_tangent_plane, tangent_plane_to_sky


def poly_exponents(order: int, min_degree: int = 0) -> list[tuple[int, int]]:
    """Exponent pairs (p, q) of u^p v^q with min_degree <= p + q <= order."""
    return [(p, d - p) for d in range(min_degree, order + 1) for p in range(d, -1, -1)]


def _design(u: np.ndarray, v: np.ndarray, exps: list[tuple[int, int]]) -> np.ndarray:
    return np.stack([u**p * v**q for p, q in exps], axis=1)


def _solve(design: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Least squares through the normal equations: the design is small (<= 21 well-scaled columns, as
    the pixel offsets are normalised to [-1, 1]), and LAPACK's lstsq is 100x slower on a loaded machine."""
    return np.linalg.solve(design.T @ design, design.T @ rhs)


@dataclasses.dataclass
class TanSip:
    """A TAN(-SIP) WCS in 0-based pixels.

    Attributes
    ----------
    crpix : (2,) 0-based reference pixel; crval : (2,) degrees; cd : (2, 2) degrees per pixel
    a, b : dict {(p, q): coefficient} forward SIP (p + q >= 2), pixels
    ap, bp : dict {(p, q): coefficient} inverse SIP (p + q >= 1), pixels
    shape : (ny, nx) of the chip
    """

    crpix: np.ndarray
    crval: np.ndarray
    cd: np.ndarray
    order: int
    a: dict
    b: dict
    ap: dict
    bp: dict
    shape: tuple[int, int]
    inverse_max_err_pix: float = 0.0

    @staticmethod
    def _poly(coeffs: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(u, dtype=np.float64)
        for (p, q), c in coeffs.items():
            out += c * u**p * v**q
        return out

    def pixel_to_sky(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """0-based pixel -> (ra, dec) degrees."""
        u = np.asarray(x, dtype=np.float64) - self.crpix[0]
        v = np.asarray(y, dtype=np.float64) - self.crpix[1]
        uu, vv = u + self._poly(self.a, u, v), v + self._poly(self.b, u, v)
        xi = self.cd[0, 0] * uu + self.cd[0, 1] * vv
        eta = self.cd[1, 0] * uu + self.cd[1, 1] * vv
        return tangent_plane_to_sky(xi, eta, self.crval[0], self.crval[1])

    def sky_to_pixel(self, ra, dec) -> tuple[np.ndarray, np.ndarray]:
        """(ra, dec) degrees -> 0-based pixel, through the fitted inverse plus one Newton step."""
        xi, eta = sky_to_tangent_plane(ra, dec, self.crval[0], self.crval[1])
        cdinv = np.linalg.inv(self.cd)
        uu = cdinv[0, 0] * xi + cdinv[0, 1] * eta
        vv = cdinv[1, 0] * xi + cdinv[1, 1] * eta
        u = uu + self._poly(self.ap, uu, vv)
        v = vv + self._poly(self.bp, uu, vv)
        if self.a:  # one Newton step on the forward polynomial removes the inverse's residual
            du = u + self._poly(self.a, u, v) - uu
            dv = v + self._poly(self.b, u, v) - vv
            u, v = u - du, v - dv
        return u + self.crpix[0], v + self.crpix[1]

    def to_astropy(self) -> WCS:
        """An astropy WCS (origin 0 in ``all_pix2world(x, y, 0)``) with complete SIP A/B/AP/BP."""
        w = WCS(naxis=2)
        w.wcs.crpix = self.crpix + 1.0
        w.wcs.crval = self.crval
        w.wcs.cd = self.cd
        w.wcs.cunit = ["deg", "deg"]
        w.wcs.radesys = "ICRS"
        if self.order >= 2:
            w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
            n, ni = self.order, max(k[0] + k[1] for k in self.ap)
            mats = []
            for coeffs, size in ((self.a, n), (self.b, n), (self.ap, ni), (self.bp, ni)):
                m = np.zeros((size + 1, size + 1))
                for (p, q), c in coeffs.items():
                    m[p, q] = c
                mats.append(m)
            w.sip = Sip(*mats, w.wcs.crpix)
        else:
            w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.pixel_shape = (self.shape[1], self.shape[0])
        w.wcs.set()
        return w

    def to_header(self) -> fits.Header:
        """FITS header cards of the WCS (TAN-SIP with AP/BP, or TAN)."""
        return self.to_astropy().to_header(relax=True)


def fit_tan_sip(x, y, ra, dec, shape: tuple[int, int], order: int, crval_guess: tuple[float, float],
                weights: np.ndarray | None = None) -> TanSip:
    """Fit a TAN-SIP WCS of polynomial ``order`` (1 = TAN) to matched pixel/sky positions.

    Parameters
    ----------
    x, y : 0-based pixel positions; ra, dec : degrees
    shape : (ny, nx) chip shape; CRPIX is fixed at its centre ((nx - 1) / 2, (ny - 1) / 2).
    order : polynomial order (>= 1); needs at least (order + 1)(order + 2) / 2 stars.
    crval_guess : (ra, dec) degrees near the chip centre.
    weights : optional inverse-variance weights per star.
    """
    x, y, ra, dec = (np.asarray(v, dtype=np.float64) for v in (x, y, ra, dec))
    ny, nx = shape
    crpix = np.array([(nx - 1) / 2.0, (ny - 1) / 2.0])
    norm = max(nx, ny) / 2.0
    u, v = (x - crpix[0]) / norm, (y - crpix[1]) / norm
    exps = poly_exponents(order)
    design = _design(u, v, exps)
    sw = np.ones_like(x) if weights is None else np.sqrt(np.asarray(weights, dtype=np.float64))
    crval = np.array(crval_guess, dtype=np.float64)
    for _ in range(6):
        xi, eta = sky_to_tangent_plane(ra, dec, crval[0], crval[1])
        coef = _solve(design * sw[:, None], np.c_[xi, eta] * sw[:, None])
        xi0, eta0 = coef[0]
        if np.hypot(xi0, eta0) < 1e-12:
            break
        crval = np.array(tangent_plane_to_sky(xi0, eta0, crval[0], crval[1]))
    scale = {e: norm ** -(e[0] + e[1]) for e in exps}
    terms = {e: coef[i] * scale[e] for i, e in enumerate(exps)}
    cd = np.array([[terms[(1, 0)][0], terms[(0, 1)][0]], [terms[(1, 0)][1], terms[(0, 1)][1]]])
    cdinv = np.linalg.inv(cd)
    a, b = {}, {}
    for e in exps:
        if e[0] + e[1] >= 2:
            ab = cdinv @ terms[e]
            a[e], b[e] = float(ab[0]), float(ab[1])
    wcs = TanSip(crpix=crpix, crval=crval, cd=cd, order=order, a=a, b=b, ap={}, bp={}, shape=(ny, nx))
    if order >= 2:
        fit_inverse(wcs, order + 1)
    return wcs


def fit_inverse(wcs: TanSip, order: int, n_grid: int = 40) -> None:
    """Fit AP/BP of ``order`` on an n_grid^2 grid over the chip (5% margin); record the max error."""
    ny, nx = wcs.shape
    gx, gy = np.meshgrid(np.linspace(-0.05 * nx, 1.05 * nx, n_grid), np.linspace(-0.05 * ny, 1.05 * ny, n_grid))
    u, v = gx.ravel() - wcs.crpix[0], gy.ravel() - wcs.crpix[1]
    uu, vv = u + TanSip._poly(wcs.a, u, v), v + TanSip._poly(wcs.b, u, v)
    norm = max(nx, ny) / 2.0
    exps = poly_exponents(order, min_degree=1)
    design = _design(uu / norm, vv / norm, exps)
    coef = _solve(design, np.c_[u - uu, v - vv])
    wcs.ap = {e: float(coef[i, 0]) * norm ** -(e[0] + e[1]) for i, e in enumerate(exps)}
    wcs.bp = {e: float(coef[i, 1]) * norm ** -(e[0] + e[1]) for i, e in enumerate(exps)}
    resid = design @ coef - np.c_[u - uu, v - vv]
    wcs.inverse_max_err_pix = float(np.max(np.hypot(resid[:, 0], resid[:, 1])))
