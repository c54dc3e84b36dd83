"""The look-up table of passband integrals and its fast evaluator.

For filter f, detector d and atmosphere state, with S = S_inst(f, d, lambda) x T_atm(lambda):

    I0 = integral S(lambda) / lambda dlambda                           (dimensionless)
    I1 = integral S(lambda) (lambda - lambda_std,f) / lambda dlambda   (nm)
    I10 = I1 / I0                                                      (nm)

(trapezoid rule on the 0.5 nm grid). The atmosphere factors as T_mol(pwv, o3, secz, P) x
exp(-tau secz (lambda/775)^-alpha). The aerosol factor is smooth over a filter, so it is replaced by
its polynomial (Lagrange) interpolant through J Chebyshev wavelengths lambda_j of the filter:

    I0 ~= sum_j A_j(tau, alpha, secz) M0_j(pwv, o3, secz, P),   A_j = exp(-tau secz (lambda_j/775)^-alpha)
    M0_j = integral S_inst T_mol L_j(lambda) / lambda dlambda       (L_j: Lagrange basis polynomials)

and likewise I1 with M1_j (the nodes span all but 2e-6 of the filter's photon weight; outside that
interval the polynomial is held at its end values). Ozone is optically thin and pressure varies by a
few per cent, so both enter to first order: M_j(o3, P) = M_j + (P - P_ref) CP_j + (o3 - o3_ref) CO_j,
with o3_ref the middle of the ozone range, CO_j the secant slope across the range and CP_j a central
difference over +-10 hPa.
The tables hold (M0, M1, CP0, CP1, CO0, CO1)_j on a grid uniform in ln PWV and sec z, per filter and
per detector row (+ the focal-plane mean); evaluation interpolates them bilinearly in (ln PWV, sec z)
and sums against the exact A_j of each point. tau and alpha need no interpolation at all.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from .errors import FgcmDbError

#: Blocks per node, J values each: M0, M1 (at P_ref, o3_ref), CP0, CP1 (per hPa), CO0, CO1 (per DU).
N_BLOCKS = 6


class LutValues(NamedTuple):
    """Passband integrals and their partial derivatives at N points (float64 arrays (N,)).

    i0 (dimensionless), i1 (nm), i10 = i1 / i0 (nm); di0_dX, di1_dX for X in ln PWV (ln mm),
    o3 (per DU), ln tau, alpha, secz, pressure (per hPa).
    """

    i0: np.ndarray
    i1: np.ndarray
    i10: np.ndarray
    di0_dlnpwv: np.ndarray
    di0_do3: np.ndarray
    di0_dlntau: np.ndarray
    di0_dalpha: np.ndarray
    di0_dsecz: np.ndarray
    di0_dpressure: np.ndarray
    di1_dlnpwv: np.ndarray
    di1_do3: np.ndarray
    di1_dlntau: np.ndarray
    di1_dalpha: np.ndarray
    di1_dsecz: np.ndarray
    di1_dpressure: np.ndarray


@dataclasses.dataclass
class LookUpTable:
    """Passband integrals per (physical filter, detector row) on an atmosphere grid.

    Attributes
    ----------
    physical_filters, bands, std_physical_filters : list[str], one per filter.
    detectors : int64 ndarray (D,), detector ids with their own row; row D is the focal-plane mean.
    wavelength_nm : ndarray (L,), the integration grid, nm.
    lambda_std : ndarray (F,), nm: photon-weighted mean wavelength of the standard filter's standard
        passband (what I1 is taken about); lambda_std_filter : the same for the filter's own passband;
        lambda_b : the same without atmosphere.
    i0_std, i1_std, i10_std, i2_std : ndarray (F,): integrals of the standard passband
        (I2 = integral S (lambda - lambda_std)^2 / lambda dlambda, nm^2).
    std_passbands : ndarray (F, L): focal-plane mean instrument x standard atmosphere.
    std_atmosphere : ndarray (L,): transmission at the standard parameters.
    standard : dict, the standard parameters (pwv_mm, o3_du, tau, alpha, airmass, pressure_hpa).
    site : str; atmosphere_source, throughput_source : str.
    pressure_ref_hpa : pressure the tables are built at (the standard pressure), hPa.
    axes : dict name -> values: lnpwv (ln mm) and secz grid nodes; o3 (DU), lntau, alpha: [min, max]
        (ozone is clipped to its range; the aerosol term is exact for any tau, alpha).
    aerosol_lambda_nm : ndarray (F, J): the Chebyshev wavelengths of the aerosol interpolant.
    values : float32 ndarray (F, D + 1, n_lnpwv, n_secz, 6 J): per node the blocks M0, M1 (nm),
        CP0 (per hPa), CP1 (nm per hPa), CO0 (per DU), CO1 (nm per DU), J values each.
    """

    physical_filters: list
    bands: list
    std_physical_filters: list
    detectors: np.ndarray
    wavelength_nm: np.ndarray
    lambda_std: np.ndarray
    lambda_std_filter: np.ndarray
    lambda_b: np.ndarray
    i0_std: np.ndarray
    i1_std: np.ndarray
    i10_std: np.ndarray
    i2_std: np.ndarray
    std_passbands: np.ndarray
    std_atmosphere: np.ndarray
    standard: dict
    site: str
    atmosphere_source: str
    throughput_source: str
    pressure_ref_hpa: float
    axes: dict
    aerosol_lambda_nm: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        self.detectors = np.asarray(self.detectors, dtype=np.int64)
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        self.axes = {k: np.asarray(v, dtype=np.float64) for k, v in self.axes.items()}
        f, d1, nw, nz, k = self.values.shape
        flat = self.values.reshape(f * d1 * nw * nz, k)
        # each row also carries the next sec z node: a cell needs 2 gathers instead of 4
        self._pairs = np.concatenate([flat, np.concatenate([flat[1:], flat[-1:]])], axis=1)
        self._u_log = np.log(self.aerosol_lambda_nm / 775.0)
        self._o3_ref = 0.5 * (self.axes["o3"][0] + self.axes["o3"][-1])

    # -- lookup helpers -----------------------------------------------------------------------
    def filter_index(self, physical_filters) -> np.ndarray:
        """Index into ``physical_filters`` of each name (FgcmDbError naming an unknown one)."""
        names = np.asarray(physical_filters, dtype=object)
        lookup = {f: i for i, f in enumerate(self.physical_filters)}
        out = np.empty(names.shape, dtype=np.int64)
        for name in np.unique(names):
            if name not in lookup:
                raise FgcmDbError(f"physical filter {name!r} is not in the look-up table "
                                  f"({', '.join(self.physical_filters)}); rerun make-lut with its throughput")
            out[names == name] = lookup[name]
        return out

    def detector_index(self, detector_ids) -> np.ndarray:
        """LUT row of each detector id: its own row, or -1 (the focal-plane mean) without one."""
        ids = np.asarray(detector_ids, dtype=np.int64)
        if len(self.detectors) == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.clip(np.searchsorted(self.detectors, ids), 0, len(self.detectors) - 1)
        return np.where(self.detectors[pos] == ids, pos, -1)

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, filter_idx, detector_idx, pwv, o3, tau, alpha, secz, pressure,
                 chunk: int = 4096) -> LutValues:
        """I0, I1, I10 and derivatives at N points.

        Parameters
        ----------
        filter_idx : int array (N,), index into ``physical_filters``.
        detector_idx : int array (N,), row index into ``detectors``; -1 = focal-plane mean.
        pwv : mm; o3 : DU; tau : aerosol optical depth at 775 nm; alpha : Angstrom exponent;
        secz : sec z; pressure : hPa (non-finite -> the standard pressure). Arrays (N,) or scalars.
        chunk : points per internal block (4096 keeps the working set in the CPU caches).

        Returns
        -------
        LutValues

        Notes
        -----
        PWV, O3 and sec z are clipped to the table's ranges. The moment tables are interpolated
        bilinearly in (ln PWV, sec z); ozone and pressure enter linearly (module docstring); the
        aerosol factor is exact at the J Chebyshev wavelengths. The derivatives are the exact
        derivatives of this approximation (of the bilinear interpolant within its cell; analytic in
        tau, alpha, o3, pressure and in the aerosol path secz), so values and gradients agree. Outside
        the ranges the clipped variable's derivative is zero.
        """
        arrays = np.broadcast_arrays(*[np.atleast_1d(np.asarray(a)) for a in
                                       (filter_idx, detector_idx, pwv, o3, tau, alpha, secz, pressure)])
        flat = [a.ravel() for a in arrays]
        n = flat[0].size
        out = {k: np.empty(n) for k in LutValues._fields}
        for start in range(0, n, chunk):
            sl = slice(start, min(n, start + chunk))
            self._evaluate_chunk(*[a[sl] for a in flat], out={k: v[sl] for k, v in out.items()})
        return LutValues(**out)

    def _locate(self, axis: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        nodes = self.axes[axis]
        step = (nodes[-1] - nodes[0]) / (len(nodes) - 1)
        inside = (x >= nodes[0]) & (x <= nodes[-1])
        t = (np.clip(x, nodes[0], nodes[-1]) - nodes[0]) / step
        k = np.minimum(t.astype(np.int64), len(nodes) - 2)
        return k, t - k, inside, step

    def _evaluate_chunk(self, fi, di, pwv, o3, tau, alpha, secz, pressure, out: dict) -> None:
        """Evaluate one chunk into the (N,) slices of ``out``; arrays are handled component-major
        (one contiguous length-n vector per quantity), which keeps numpy's passes short."""
        fi = fi.astype(np.int64)
        di = di.astype(np.int64)
        nf, nd1, nw, nz, k = self.values.shape
        nj = k // N_BLOCKS
        if np.any((fi < 0) | (fi >= nf)):
            raise FgcmDbError(f"filter_idx out of range 0..{nf - 1}")
        if np.any((di < -1) | (di >= nd1 - 1)):
            raise FgcmDbError(f"detector_idx out of range -1..{nd1 - 2}")
        n = len(fi)
        di = np.where(di < 0, nd1 - 1, di)
        tau = np.asarray(tau, dtype=np.float64)
        alpha = np.asarray(alpha, dtype=np.float64)
        kw, fw, inw, sw = self._locate("lnpwv", np.log(np.maximum(np.asarray(pwv, dtype=np.float64), 1e-12)))
        kz, fz, inz, sz = self._locate("secz", np.asarray(secz, dtype=np.float64))
        xz = self.axes["secz"][0] + (kz + fz) * sz
        o3 = np.asarray(o3, dtype=np.float64)
        o3_lo, o3_hi = self.axes["o3"][0], self.axes["o3"][-1]
        do3 = np.clip(o3, o3_lo, o3_hi) - self._o3_ref
        in_o3 = (o3 >= o3_lo) & (o3 <= o3_hi)
        p = np.asarray(pressure, dtype=np.float64)
        p_ok = np.isfinite(p)
        dp = np.where(p_ok, p, self.standard["pressure_hpa"]) - self.pressure_ref_hpa

        # the 4 corners of the (ln PWV, sec z) cell, from 2 gathered rows of (node kz, node kz+1);
        # corner order (w0 z0, w0 z1, w1 z0, w1 z1)
        base = ((fi * nd1 + di) * nw + kw) * nz + kz
        g = np.empty((n, 2, 2 * k), dtype=np.float32)
        np.take(self._pairs, base, axis=0, out=g[:, 0])
        np.take(self._pairs, base + nz, axis=0, out=g[:, 1])
        g = g.reshape(n, 4, N_BLOCKS * nj)
        w_lo, z_lo = 1.0 - fw, 1.0 - fz
        weight = (w_lo * z_lo, w_lo * fz, fw * z_lo, fw * fz)
        dw, dz = inw / sw, inz / sz
        dweight_w = (-dw * z_lo, -dw * fz, dw * z_lo, dw * fz)
        dweight_z = (-w_lo * dz, w_lo * dz, -fw * dz, fw * dz)

        # aerosol factor at the Chebyshev wavelengths (n, J), and its derivative factors
        ulog = self._u_log[fi].astype(np.float32)                                     # (n, J)
        u = np.exp(-alpha[:, None].astype(np.float32) * ulog)
        path = tau * xz
        a = np.exp(-path[:, None].astype(np.float32) * u)

        # every block at each corner contracted with the aerosol factor a_j and with the factors of its
        # derivatives, a_j u_j (ln tau, secz) and a_j u_j ln(lambda_j/775) (alpha): 3 x (24, n), row
        # corner * 6 + block
        g3 = g.reshape(n, 4 * N_BLOCKS, nj)
        c_a, c_au, c_aul = [np.matmul(g3, f[:, :, None])[:, :, 0].T.astype(np.float64)
                            for f in (a, a * u, a * u * ulog)]

        def corners(rows, b):
            """Corner values M + dP CP + dO3 CO of integral b (0: I0, 1: I1), 4 vectors (n,)."""
            return [rows[c * N_BLOCKS + b] + dp * rows[c * N_BLOCKS + 2 + b] + do3 * rows[c * N_BLOCKS + 4 + b]
                    for c in range(4)]

        def wsum(w, rows):
            return w[0] * rows[0] + w[1] * rows[1] + w[2] * rows[2] + w[3] * rows[3]

        for b, name in enumerate(("i0", "i1")):
            v = corners(c_a, b)
            au = wsum(weight, corners(c_au, b))
            out[name][:] = wsum(weight, v)
            out[f"d{name}_dlnpwv"][:] = wsum(dweight_w, v)
            out[f"d{name}_dsecz"][:] = wsum(dweight_z, v) - tau * au * inz
            out[f"d{name}_dpressure"][:] = wsum(weight, c_a[2 + b::N_BLOCKS]) * p_ok
            out[f"d{name}_do3"][:] = wsum(weight, c_a[4 + b::N_BLOCKS]) * in_o3
            out[f"d{name}_dlntau"][:] = -path * au
            out[f"d{name}_dalpha"][:] = path * wsum(weight, corners(c_aul, b))
        out["i10"][:] = out["i1"] / out["i0"]
