"""`fgcm-db make-lut`: the standard passbands and the look-up table of passband integrals.

:func:`build_lut` is the numerics (arrays in, :class:`~fgcm_db.lut_table.LookUpTable` out; see
that module for the method and the I0/I1 definitions); :func:`store_lut` / :func:`load_lut` move it
to and from the database (:mod:`fgcm_db.lut_store`); :func:`run_make_lut` is the command.
All integrals over wavelength are matrix products: for each filter, the molecular transmission at
every (ln PWV, sec z) node times a (wavelength x (detector, aerosol node)) weight matrix.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from .atmosphere import Atmosphere, BuiltinAtmosphere, standard_atmosphere_parameters
from .camera import Camera
from .configs.lut import LutConfig
from .errors import FgcmDbError
from .lut_store import load_lut, store_lut
from .lut_table import N_BLOCKS, LookUpTable, LutValues
from .sites import Site, get_site
from .throughput import Throughput

__all__ = ["LookUpTable", "LutValues", "build_lut", "direct_integrals", "integration_weights", "load_lut",
           "run_make_lut", "standard_parameters_for", "standard_passband", "store_lut"]

log = logging.getLogger(__name__)

#: Pressure step of the central difference for the pressure derivative, hPa.
PRESSURE_STEP_HPA = 10.0


def integration_weights(wavelength_nm: np.ndarray) -> np.ndarray:
    """Trapezoid-rule weights (nm) of a wavelength grid."""
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    d = np.diff(lam)
    w = np.zeros_like(lam)
    w[:-1] += d / 2
    w[1:] += d / 2
    return w


def standard_parameters_for(atmosphere: Atmosphere, site: Site | str | None = None,
                            overrides: dict | None = None) -> dict:
    """The standard atmosphere: the built-in model's per-site values (``site`` or the model's own),
    an FGCM table's PARS values; then ``overrides``."""
    if isinstance(atmosphere, BuiltinAtmosphere):
        std = standard_atmosphere_parameters(site if site is not None else atmosphere.site)
    else:
        std = dict(atmosphere.standard_parameters())
    std.update(overrides or {})
    return {k: float(v) for k, v in std.items()}


def _mean_wavelength(curve: np.ndarray, lam: np.ndarray, wq: np.ndarray) -> float:
    """Photon-weighted mean wavelength ``integral S dl / integral S / l dl`` (nm)."""
    i0 = np.sum(curve * wq / lam)
    if not i0 > 0:
        raise FgcmDbError("a passband has zero throughput everywhere")
    return float(np.sum(curve * wq) / i0)


def standard_passband(atmosphere: Atmosphere, throughput: Throughput, physical_filter: str,
                      site: Site | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Standard passband of a filter: focal-plane mean instrument x standard atmosphere.

    Returns
    -------
    wavelength_nm : ndarray (L,), nm; throughput : ndarray (L,), 0..1.
    """
    lam = throughput.wavelength_nm
    std = standard_parameters_for(atmosphere, site)
    t_std = atmosphere.transmission(lam, std["pwv_mm"], std["o3_du"], std["tau"], std["alpha"], std["airmass"],
                                    std["pressure_hpa"])
    return lam, throughput.curve(physical_filter) * t_std


def _chebyshev_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    k = np.arange(n)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * (2 * k + 1) / (2 * n))[::-1]


def _lagrange_basis(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Lagrange basis polynomials of ``nodes`` at ``x``: (J, len(x))."""
    out = np.ones((len(nodes), len(x)))
    for j, xj in enumerate(nodes):
        for m, xm in enumerate(nodes):
            if m != j:
                out[j] *= (x - xm) / (xj - xm)
    return out


def _intersect(wanted, allowed, what: str) -> tuple[float, float]:
    """``wanted`` (lo, hi) narrowed to ``allowed`` (the atmosphere model's range), with a log line."""
    lo, hi = float(wanted[0]), float(wanted[1])
    if allowed is None:
        return lo, hi
    new_lo, new_hi = max(lo, allowed[0]), min(hi, allowed[1])
    if not new_lo < new_hi:
        raise FgcmDbError(f"[lut] the {what} range {lo:g}-{hi:g} does not overlap the atmosphere table's "
                          f"{allowed[0]:g}-{allowed[1]:g}")
    if (new_lo, new_hi) != (lo, hi):
        log.info("LUT %s range narrowed to the atmosphere table's: %g-%g", what, new_lo, new_hi)
    return new_lo, new_hi


def _support(curves: np.ndarray) -> slice:
    nonzero = np.flatnonzero(np.any(curves > 0, axis=0))
    return slice(int(nonzero[0]), int(nonzero[-1]) + 1)


def build_lut(atmosphere: Atmosphere, throughput: Throughput, camera: Camera | None = None,
              config: LutConfig | None = None) -> LookUpTable:
    """Compute the standard passbands and the look-up table.

    Parameters
    ----------
    atmosphere : Atmosphere
    throughput : Throughput (its wavelength grid is the integration grid).
    camera : Camera, optional. When given, every detector with its own throughput curve must be in it.
    config : LutConfig (grid, site, standard overrides, filters).

    Raises
    ------
    FgcmDbError
        A requested filter without a curve, a detector missing from the camera, a zero passband.
    """
    config = config or LutConfig()
    t0 = time.perf_counter()
    site = atmosphere.site if atmosphere.site is not None else get_site(config.site or "subaru")
    if config.site:
        site = get_site(config.site)
    grid = config.resolved(site.name)
    filters = list(config.physical_filters) or list(throughput.physical_filters)
    throughput = throughput.select(filters)
    std_map = {f: config.std_physical_filter_map.get(f, f) for f in filters}
    for f, s in std_map.items():
        if s not in filters:
            raise FgcmDbError(f"[lut] std_physical_filter_map maps {f} to {s!r}, which is not among the LUT "
                              f"filters {', '.join(filters)}")
    detectors = np.asarray(throughput.detectors, dtype=np.int64)
    if camera is not None and len(detectors):
        unknown = detectors[camera.index_of(detectors) < 0]
        if len(unknown):
            raise FgcmDbError(f"camera {camera.name!r} lacks detector(s) {unknown.tolist()[:8]} that have "
                              f"throughput curves in {throughput.source}; give the camera file listing them")

    lam = throughput.wavelength_nm
    wq = integration_weights(lam)
    std = standard_parameters_for(atmosphere, site if isinstance(atmosphere, BuiltinAtmosphere) else None,
                                  config.standard)
    t_std = atmosphere.transmission(lam, std["pwv_mm"], std["o3_du"], std["tau"], std["alpha"], std["airmass"],
                                    std["pressure_hpa"])
    means = np.stack([throughput.curve(f) for f in filters])
    std_pass = means * t_std[None, :]
    lambda_b = np.array([_mean_wavelength(c, lam, wq) for c in means])
    lambda_std_filter = np.array([_mean_wavelength(c, lam, wq) for c in std_pass])
    lambda_std = np.array([lambda_std_filter[filters.index(std_map[f])] for f in filters])
    i0_std = np.sum(std_pass * wq / lam, axis=1)
    dl = lam[None, :] - lambda_std[:, None]
    i1_std = np.sum(std_pass * dl * wq / lam, axis=1)
    i2_std = np.sum(std_pass * dl**2 * wq / lam, axis=1)

    # the grid stays inside the atmosphere model's own ranges (a table is clipped beyond its nodes, and a
    # grid cell straddling that kink would interpolate across it)
    limits = atmosphere.ranges()
    pwv_lo, pwv_hi = _intersect(grid["pwv_range_mm"], limits.get("pwv_mm"), "PWV")
    o3_lo, o3_hi = _intersect(config.o3_range_du, limits.get("o3_du"), "ozone")
    _, secz_hi = _intersect((1.0, 1.0 / np.cos(np.radians(grid["zenith_max_deg"]))), limits.get("secz"), "sec z")
    axes = {
        "lnpwv": np.linspace(np.log(pwv_lo), np.log(pwv_hi), grid["pwv_steps"]),
        "secz": np.linspace(1.0, secz_hi, grid["zenith_steps"]),
        "o3": np.array([o3_lo, o3_hi]),
        "lntau": np.log(np.asarray(config.tau_range, dtype=np.float64)),
        "alpha": np.asarray(config.alpha_range, dtype=np.float64),
    }
    gw, gz = np.meshgrid(np.exp(axes["lnpwv"]), axes["secz"], indexing="ij")
    pwv_n, secz_n = gw.ravel(), gz.ravel()
    n_nodes = gw.size
    p_ref = std["pressure_hpa"]
    o3_ref, o3_half = 0.5 * (o3_lo + o3_hi), 0.5 * (o3_hi - o3_lo)
    nj = config.aerosol_nodes
    nd1 = len(detectors) + 1
    values = np.empty((len(filters), nd1) + gw.shape + (N_BLOCKS * nj,), dtype=np.float32)
    aer_lambda = np.empty((len(filters), nj))
    for fi, f in enumerate(filters):
        curves = np.concatenate([throughput.detector_curves(f, detectors), means[fi:fi + 1]])  # (D+1, L)
        sup = _support(curves)
        lam_s, wq_s, c_s = lam[sup], wq[sup], curves[:, sup]
        weight = means[fi, sup] * wq_s / lam_s
        cum = np.cumsum(weight) / weight.sum()
        lo = float(lam_s[min(np.searchsorted(cum, 1e-6), len(lam_s) - 1)])
        hi = float(lam_s[min(np.searchsorted(cum, 1 - 1e-6), len(lam_s) - 1)])
        nodes = _chebyshev_nodes(lo, hi, nj)
        aer_lambda[fi] = nodes
        basis = _lagrange_basis(nodes, np.clip(lam_s, lo, hi))                       # (J, Ls), sums to 1
        k0 = (c_s[:, None, :] * basis[None, :, :] * (wq_s / lam_s)[None, None, :]).reshape(nd1 * nj, -1)
        k1 = k0 * (lam_s - lambda_std[fi])[None, :]
        kk = np.concatenate([k0, k1]).T                                               # (Ls, 2 (D+1) J)

        def moments(o3, pressure):
            t_mol = atmosphere.molecular_transmission(lam_s, pwv_n, np.full(n_nodes, o3), secz_n,
                                                      np.full(n_nodes, pressure))
            return (t_mol @ kk).reshape(n_nodes, 2, nd1, nj)                          # (nodes, I0/I1, D+1, J)

        m = moments(o3_ref, p_ref)
        dm_dp = (moments(o3_ref, p_ref + PRESSURE_STEP_HPA) - moments(o3_ref, p_ref - PRESSURE_STEP_HPA)) / (
            2 * PRESSURE_STEP_HPA)
        dm_do3 = (moments(o3_hi, p_ref) - moments(o3_lo, p_ref)) / (2 * o3_half)
        node_vals = np.concatenate([m, dm_dp, dm_do3], axis=1).transpose(2, 0, 1, 3)  # (D+1, nodes, 6, J)
        values[fi] = node_vals.reshape((nd1,) + gw.shape + (N_BLOCKS * nj,))
    log.info("built LUT: %d filters x %d detector rows x %d nodes in %.1f s", len(filters), nd1, n_nodes,
             time.perf_counter() - t0)
    return LookUpTable(
        physical_filters=filters, bands=[throughput.band(f) for f in filters],
        std_physical_filters=[std_map[f] for f in filters], detectors=detectors, wavelength_nm=lam,
        lambda_std=lambda_std, lambda_std_filter=lambda_std_filter, lambda_b=lambda_b,
        i0_std=i0_std, i1_std=i1_std, i10_std=i1_std / i0_std, i2_std=i2_std,
        std_passbands=std_pass, std_atmosphere=t_std, standard=std, site=site.name,
        atmosphere_source=atmosphere.name, throughput_source=throughput.source, pressure_ref_hpa=p_ref,
        axes=axes, aerosol_lambda_nm=aer_lambda, values=values,
    )


def direct_integrals(atmosphere: Atmosphere, throughput: Throughput, physical_filter: str, detector: int | None,
                     lambda_std: float, pwv, o3, tau, alpha, secz, pressure) -> tuple[np.ndarray, np.ndarray]:
    """I0 and I1 by direct integration on the throughput's grid (the reference the LUT is tested
    against). Parameters as :meth:`Atmosphere.transmission`; returns arrays (N,) or scalars."""
    lam = throughput.wavelength_nm
    wq = integration_weights(lam)
    s = throughput.curve(physical_filter, detector) * atmosphere.transmission(lam, pwv, o3, tau, alpha, secz, pressure)
    return np.sum(s * wq / lam, axis=-1), np.sum(s * (lam - lambda_std) * wq / lam, axis=-1)


# ----------------------------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------------------------
def _site_name(db, config: LutConfig) -> str:
    if config.site:
        return config.site.lower()
    recorded = db.get_metadata("site")
    if isinstance(recorded, dict):
        recorded = recorded.get("name")
    return str(recorded).lower() if recorded else "subaru"


def _camera_from_db(db) -> Camera | None:
    if db.execute("lut_count_detectors").fetchall()[0][0] == 0:
        return None
    t = db.fetch_arrow("lut_detectors").to_pydict()
    n = len(t["detector"])
    return Camera(
        detector=np.asarray(t["detector"]), x_size=np.asarray(t["x_size"]), y_size=np.asarray(t["y_size"]),
        fp_x=np.asarray(t["fp_x"], dtype=np.float64), fp_y=np.asarray(t["fp_y"], dtype=np.float64),
        pixel_scale=np.asarray(t["pixel_scale"], dtype=np.float64),
        rotation=np.asarray(t["rotation"], dtype=np.float64), pixel_size_mm=np.full(n, 0.015),
        is_science=np.asarray(t["is_science"], dtype=bool), name="database detectors",
    )


def run_make_lut(db_path, atmosphere: str | Path | None = None, throughput: str | Path | None = None,
                 camera: str | Path | None = None, config_path: str | Path | None = None) -> LookUpTable:
    """Build the LUT from the given (or default) atmosphere, throughput and camera; store it.

    Everything is read and computed before the database transaction opens, so bad input writes
    nothing.
    """
    from .atmosphere import load_atmosphere
    from .camera import load_camera
    from .config import load_config
    from .db import Database
    from .progress import say, status
    from .throughput import load_throughput

    cfg = load_config(config_path)
    config = cfg.lut
    with Database(db_path) as db:
        site = get_site(_site_name(db, config))
        db_camera = _camera_from_db(db)
        cam = load_camera(camera) if camera is not None else db_camera
        if camera is not None and db_camera is not None:
            missing = db_camera.detector[cam.index_of(db_camera.detector) < 0]
            if len(missing):
                raise FgcmDbError(f"camera file {camera} lacks detector(s) {missing.tolist()[:8]} that the ingested "
                                  "data use; give a camera file listing every detector")
        with status("reading atmosphere and throughput"):
            atm = load_atmosphere(atmosphere, site)
            thr = load_throughput(throughput, cam)
        with status(f"building the look-up table ({len(config.physical_filters or thr.physical_filters)} filters)"):
            t0 = time.perf_counter()
            lut = build_lut(atm, thr, cam, config)
            took = time.perf_counter() - t0
        with db.stage("make-lut", cfg.to_dict()) as run_id:
            store_lut(db, lut, run_id)
    say(f"make-lut: {len(lut.physical_filters)} filters x {len(lut.detectors) + 1} detector rows "
        f"({lut.nbytes / 1e6:.0f} MB) built in {took:.1f} s; lambda_std = "
        + ", ".join(f"{f} {v:.1f} nm" for f, v in zip(lut.physical_filters, lut.lambda_std)))
    return lut

