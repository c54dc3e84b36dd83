"""One visit, end to end: which objects land on which detector, their true counts integrated through
the per-detector instrument x per-star atmosphere passband, the gray terms, the measurement, the flags
and the rows of the visit's source table.

True counts of an object of reference magnitude m (standard AB magnitude of its normalised template
mix) on detector d at airmass X:

    counts = t * 10^(0.4 (ZP_AB - m - v)) * J_d(X) * QE_d * illum(fp) * grad_d(x, y)
             * 10^(-0.4 (decline(t) + cloud(fp)))

with J the template integral of :mod:`.integrate` (f_nu in units of 3631 Jy), ZP_AB from
:func:`fgcm_db.photometry.ab_zeropoint_no_throughput` and v the variability offset. This is
``A t / (h g) * integral f_nu S dlambda / lambda`` with S = instrument(detector, position) x
atmosphere(visit, star airmass) x 10^(-0.4 gray).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

from .. import astro
from ..atmosphere import Atmosphere
from ..camera import Camera
from ..sites import Site
from .instrument import Instrument
from .integrate import airmass_nodes, lagrange_weights, observe, visit_integrals
from .measure import DETECTION_SNR, FWHM_PER_SIGMA, SATURATION_COUNTS, measure_sources, peak_fraction
from .objects import KIND_COMPANION, KIND_GALAXY, Objects
from .survey import DetectorLocator, Survey, field_of_view_radius_deg
from .weather import Weather


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(N, 3) unit vectors of sky positions."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


@dataclasses.dataclass
class Scene:
    """Everything fixed for the whole survey that a visit needs (built once by the orchestrator).

    Attributes
    ----------
    camera, locator, site, survey, objects, weather, instrument, atmosphere : the simulation parts.
    physical_filter : (V,) physical filter of each visit.
    fnu_w : physical_filter -> (T, Lb) normalised templates x quadrature weights on the filter support.
    band_slice : physical_filter -> slice of the wavelength grid (the filter support).
    zp_ab : ZP_AB(A, g), mag; sky_zp : physical_filter -> AB mag of 1 count/s/pixel of sky, nominal.
    fwhm_scale : (V, D) detector FWHM / boresight FWHM; local_bg : (V, D) residual background,
    counts/pixel; noise : bool; floor_mag : mag; n_sky_per_detector : int; seed : int.
    """

    camera: Camera
    locator: DetectorLocator
    site: Site
    survey: Survey
    objects: Objects
    weather: Weather
    instrument: Instrument
    atmosphere: Atmosphere
    physical_filter: np.ndarray
    fnu_w: dict
    band_slice: dict
    zp_ab: float
    sky_zp: dict
    fwhm_scale: np.ndarray
    local_bg: np.ndarray
    noise: bool
    floor_mag: float
    n_sky_per_detector: int
    seed: int
    tree: cKDTree = None
    fov_radius_deg: float = 0.0

    def __post_init__(self) -> None:
        self.tree = cKDTree(unit_vectors(self.objects.ra, self.objects.dec))
        self.fov_radius_deg = field_of_view_radius_deg(self.camera) + 0.01

    def detector_fwhm_px(self, v: int) -> np.ndarray:
        """(D,) PSF FWHM of each detector in visit ``v``, pixels."""
        return self.survey.seeing_fwhm[v] * self.fwhm_scale[v] / self.camera.pixel_scale

    def sky_counts(self, v: int) -> np.ndarray:
        """(D,) sky level of each detector in visit ``v``, counts per pixel (through the same optics,
        QE and mirror dust as the stars; clouds are taken to scatter as much light in as they remove)."""
        f = self.physical_filter[v]
        ins = self.instrument
        area = self.camera.pixel_scale**2
        optics = ins.illumination_factor(f, self.camera.fp_x, self.camera.fp_y) * ins.qe_scale[f]
        mag = self.survey.sky_mag[v] - self.sky_zp[f] + ins.decline_mag(self.survey.mjd[v])
        return self.survey.exptime[v] * area * optics * 10.0 ** (-0.4 * mag)


def true_counts(scene: Scene, v: int, obj: np.ndarray, det_index: np.ndarray, fp_x: np.ndarray,
                fp_y: np.ndarray, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free total counts of objects ``obj`` in visit ``v`` (and their airmass).

    Parameters
    ----------
    obj : object indices; det_index : detector indices (camera order); fp_x, fp_y : focal plane, mm;
    px, py : pixel position on the detector.
    """
    s, o, cam, ins = scene.survey, scene.objects, scene.camera, scene.instrument
    f = scene.physical_filter[v]
    w = scene.weather
    ra, dec = o.ra[obj], o.dec[obj]
    secz = astro.secant_zenith(astro.hour_angle_deg(s.mjd[v], ra, scene.site.longitude_deg), dec,
                               scene.site.latitude_deg)
    nodes = airmass_nodes(float(np.min(secz)), float(np.max(secz))) if len(obj) else airmass_nodes(1.0, 1.0)
    lam = ins.wavelength_nm[scene.band_slice[f]]
    atm = scene.atmosphere.transmission(lam, w.pwv[v], w.o3[v], w.tau[v], w.alpha[v], nodes, w.pressure[v])
    j = visit_integrals(scene.fnu_w[f], ins.curves[f][:, scene.band_slice[f]], atm)
    integral = observe(j, o.template[obj], o.weight[obj], det_index, lagrange_weights(nodes, secz))
    xs = (px - (cam.x_size[det_index] - 1) / 2.0) / (cam.x_size[det_index] / 2.0)
    ys = (py - (cam.y_size[det_index] - 1) / 2.0) / (cam.y_size[det_index] / 2.0)
    xi, eta = astro.sky_to_tangent_plane(ra, dec, s.ra[v], s.dec[v])
    mag = o.mag_ref[obj] + o.variability_mag(obj, s.mjd[v]) + ins.decline_mag(s.mjd[v]) \
        + w.cloud_at(v, det_index, xi, eta)
    gray = ins.qe_scale[f][det_index] * ins.illumination_factor(f, fp_x, fp_y) * ins.gradient_factor(det_index, xs, ys)
    counts = s.exptime[v] * 10.0 ** (0.4 * (scene.zp_ab - mag)) * integral * gray
    return counts, secz


def _sky_sources(scene: Scene, v: int, rng: np.random.Generator) -> dict:
    """Blank-sky positions: ``n_sky_per_detector`` per detector, away from the edges."""
    cam = scene.camera
    n = scene.n_sky_per_detector
    det_index = np.repeat(np.arange(len(cam)), n)
    px = rng.uniform(20.0, cam.x_size[det_index] - 21.0)
    py = rng.uniform(20.0, cam.y_size[det_index] - 21.0)
    fx, fy = cam.pixel_to_focal_plane(cam.detector[det_index], px, py)
    s = scene.survey
    ra, dec = astro.focal_plane_to_sky(fx, fy, s.ra[v], s.dec[v], s.rotation[v], cam.plate_scale_arcsec_per_mm)
    return {"det_index": det_index, "x": px, "y": py, "ra": ra, "dec": dec}


def observe_visit(scene: Scene, v: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """Source rows and truth rows of visit ``v``.

    Returns
    -------
    sources : dict column -> array (CONTRACT.md source-table columns).
    truth : dict column -> array, one row per detected object source (not sky sources or blend parents):
        sourceId, object_id, visit, detector, airmass, true_counts (total), true_ap12 (noise-free
        12-pixel aperture counts).
    """
    s, o, cam = scene.survey, scene.objects, scene.camera
    f = scene.physical_filter[v]
    gain = scene.site.gain
    # objects on the focal plane
    chord = 2.0 * np.sin(np.radians(scene.fov_radius_deg) / 2.0)
    cand = np.array(sorted(scene.tree.query_ball_point(unit_vectors([s.ra[v]], [s.dec[v]])[0], chord)),
                    dtype=np.int64)
    fx, fy = astro.sky_to_focal_plane(o.ra[cand], o.dec[cand], s.ra[v], s.dec[v], s.rotation[v],
                                      cam.plate_scale_arcsec_per_mm)
    det, px, py = scene.locator.locate(fx, fy)
    on = det >= 0
    obj, fx, fy, px, py = cand[on], fx[on], fy[on], px[on], py[on]
    det_index = cam.index_of(det[on])
    total, secz = true_counts(scene, v, obj, det_index, fx, fy, px, py)

    fwhm_det = scene.detector_fwhm_px(v)
    size_px = o.size_arcsec[obj] / cam.pixel_scale[det_index]
    fwhm = np.hypot(fwhm_det[det_index], FWHM_PER_SIGMA * size_px)
    sky = scene.sky_counts(v)[det_index]
    bg = scene.local_bg[v, det_index]
    m = measure_sources(rng, total, fwhm, sky, gain, scene.floor_mag, scene.noise, bg)
    n = len(obj)

    # blends: a primary whose companion is on the same detector becomes parent + 2 children
    comp = o.companion[obj]
    pos_of = np.full(len(o), -1, dtype=np.int64)
    pos_of[obj] = np.arange(n)
    comp_pos = np.where(comp >= 0, pos_of[np.maximum(comp, 0)], -1)
    is_primary = (comp_pos >= 0)
    is_primary[is_primary] &= det_index[comp_pos[is_primary]] == det_index[is_primary]
    is_comp = o.kind[obj] == KIND_COMPANION
    snr = m["psf"] / m["psf_err"]
    detected = snr >= DETECTION_SNR
    prim = np.flatnonzero(is_primary)
    blend_detected = detected[prim] | detected[comp_pos[prim]]
    detected[is_comp] = False  # companions appear only as children of a detected blend
    detected[prim] = blend_detected
    detected[comp_pos[prim]] = blend_detected
    keep = np.flatnonzero(detected)

    rows = {k: m[k][keep] for k in ("ap12", "ap12_err", "ap17", "ap17_err", "psf", "psf_err", "local_bg")}
    nk = len(keep)
    deblend_err = rng.normal(0.0, 0.02, nk) if scene.noise else np.zeros(nk)
    in_blend = is_primary[keep] | is_comp[keep]
    for k in ("ap12", "ap17", "psf"):
        rows[k] = np.where(in_blend, rows[k] * (1.0 + deblend_err), rows[k])

    # flags
    peak = total[keep] * peak_fraction(fwhm[keep]) + sky[keep]
    saturated = peak > SATURATION_COUNTS
    lost = rng.uniform(0.6, 0.97, nk)
    u = rng.random((5, nk))
    cr = u[0] < 0.005
    bad = u[1] < 0.003
    interp = saturated | (u[2] < 0.01)
    failed = u[3] < 0.002
    for k in ("ap12", "ap17", "psf"):
        rows[k] = np.where(saturated, rows[k] * lost, rows[k])
        rows[k] = np.where(bad, rows[k] * (0.85 + 0.15 * u[4]), rows[k])
    hit = np.where(cr, rng.uniform(50.0, 3000.0, nk), 0.0)
    rows["ap12"] = rows["ap12"] + hit
    rows["ap17"] = rows["ap17"] + hit
    xk, yk, dk = px[keep], py[keep], det_index[keep]
    margin = np.minimum.reduce([xk, yk, cam.x_size[dk] - 1 - xk, cam.y_size[dk] - 1 - yk])
    edge12 = margin < 12.0
    edge17 = margin < 17.0
    ap12_flag = edge12 | failed | saturated
    ap17_flag = edge17 | saturated
    rows["ap12"] = np.where(edge12 | failed, np.nan, rows["ap12"])
    rows["ap17"] = np.where(edge17, np.nan, rows["ap17"])

    # extendedness: galaxies 1 (compact faint ones sometimes 0), stars 0 (faint ones sometimes 1)
    kind = o.kind[obj[keep]]
    gal = (kind == KIND_GALAXY) | (kind == KIND_COMPANION)
    snr_k = np.abs(snr[keep])
    p_flip = np.where(gal, 0.3 * (o.size_arcsec[obj[keep]] < 0.25) * (snr_k < 20),
                      0.15 * np.exp(-(snr_k - DETECTION_SNR) / 5.0))
    ext = np.where(gal, 1.0, 0.0)
    ext = np.where(rng.random(nk) < p_flip, 1.0 - ext, ext)
    sig2 = (fwhm[keep] / FWHM_PER_SIGMA) ** 2
    ell = np.where(gal, rng.uniform(0.0, 0.5, nk), 0.0) * size_px[keep] ** 2
    theta = rng.uniform(0, np.pi, nk)
    ixx = sig2 + ell * np.cos(2 * theta)
    iyy = sig2 - ell * np.cos(2 * theta)
    ixy = ell * np.sin(2 * theta)

    # parents of blends
    parents = np.flatnonzero(is_primary[keep])
    comp_rows = np.searchsorted(keep, comp_pos[keep[parents]])
    parent_total = total[keep[parents]] + total[comp_pos[keep[parents]]]
    pm = measure_sources(rng, parent_total, fwhm[keep[parents]] * 1.2, sky[keep[parents]], gain,
                         scene.floor_mag, scene.noise, bg[keep[parents]])

    # sky sources
    sk = _sky_sources(scene, v, rng)
    ns = len(sk["x"])
    sm = measure_sources(rng, np.zeros(ns), fwhm_det[sk["det_index"]], scene.sky_counts(v)[sk["det_index"]],
                         gain, 0.0, scene.noise, scene.local_bg[v, sk["det_index"]])

    # assemble: object sources, then parents, then sky sources; ids in that order
    np_ = len(parents)
    n_all = nk + np_ + ns
    source_id = s.visit[v] * 1_000_000 + np.arange(n_all, dtype=np.int64)
    parent_id = np.zeros(n_all, dtype=np.int64)
    parent_id[parents] = source_id[nk + np.arange(np_)]
    parent_id[comp_rows] = source_id[nk + np.arange(np_)]
    ra_o = np.concatenate([o.ra[obj[keep]], o.ra[obj[keep[parents]]], sk["ra"]])
    dec_o = np.concatenate([o.dec[obj[keep]], o.dec[obj[keep[parents]]], sk["dec"]])
    det_all = np.concatenate([dk, dk[parents], sk["det_index"]])
    false = np.zeros(n_all, dtype=bool)

    def cat(a, b, c):
        return np.concatenate([a, b, c])

    sources = {
        "sourceId": source_id,
        "visit": np.full(n_all, s.visit[v], dtype=np.int64),
        "detector": cam.detector[det_all].astype(np.int32),
        "band": np.full(n_all, s.band[v], dtype=object),
        "physical_filter": np.full(n_all, f, dtype=object),
        "coord_ra": ra_o, "coord_dec": dec_o,
        "x": cat(xk, xk[parents], sk["x"]), "y": cat(yk, yk[parents], sk["y"]),
        "apFlux_12_0_instFlux": cat(rows["ap12"], pm["ap12"], sm["ap12"]),
        "apFlux_12_0_instFluxErr": cat(m["ap12_err"][keep], pm["ap12_err"], sm["ap12_err"]),
        "apFlux_12_0_flag": cat(ap12_flag, ap12_flag[parents], np.zeros(ns, bool)),
        "apFlux_17_0_instFlux": cat(rows["ap17"], pm["ap17"], sm["ap17"]),
        "apFlux_17_0_instFluxErr": cat(m["ap17_err"][keep], pm["ap17_err"], sm["ap17_err"]),
        "apFlux_17_0_flag": cat(ap17_flag, ap17_flag[parents], np.zeros(ns, bool)),
        "localBackground_instFlux": cat(rows["local_bg"], pm["local_bg"], sm["local_bg"]),
        "localBackground_flag": false,
        "extendedness": cat(ext, np.ones(np_), np.full(ns, np.nan)),
        "pixelFlags_saturatedCenter": cat(saturated, saturated[parents], np.zeros(ns, bool)),
        "pixelFlags_interpolatedCenter": cat(interp, interp[parents], np.zeros(ns, bool)),
        "pixelFlags_edge": cat(edge12, edge12[parents], np.zeros(ns, bool)),
        "pixelFlags_cr": cat(cr, cr[parents], np.zeros(ns, bool)),
        # cosmic-ray pixels are repaired by interpolation, as LSST's repair step does, which sets the
        # footprint's "interpolated" flag; the added counts stand for an imperfect repair
        "pixelFlags_interpolated": cat(interp | cr, (interp | cr)[parents], np.zeros(ns, bool)),
        "pixelFlags_bad": cat(bad, bad[parents], np.zeros(ns, bool)),
        "centroid_flag": false,
        "detect_isPrimary": cat(np.ones(nk, bool), np.zeros(np_ + ns, bool), np.zeros(0, bool)),
        "sky_source": cat(np.zeros(nk + np_, bool), np.ones(ns, bool), np.zeros(0, bool)),
        "deblend_nChild": cat(np.zeros(nk, np.int32), np.full(np_, 2, np.int32), np.zeros(ns, np.int32)),
        "parentSourceId": parent_id,
        "calib_psf_candidate": cat((~gal) & (snr_k > 50) & ~saturated & (rng.random(nk) < 0.6),
                                   np.zeros(np_ + ns, bool), np.zeros(0, bool)),
        "psfFlux": cat(rows["psf"], pm["psf"], sm["psf"]),
        "psfFluxErr": cat(m["psf_err"][keep], pm["psf_err"], sm["psf_err"]),
        "psfFlux_flag": cat(saturated, saturated[parents], np.zeros(ns, bool)),
        "ixx": cat(ixx, ixx[parents] * 1.5, np.full(ns, np.nan)),
        "iyy": cat(iyy, iyy[parents] * 1.5, np.full(ns, np.nan)),
        "ixy": cat(ixy, ixy[parents], np.full(ns, np.nan)),
    }
    truth = {
        "sourceId": source_id[:nk], "object_id": o.object_id[obj[keep]],
        "visit": np.full(nk, s.visit[v], dtype=np.int64), "detector": cam.detector[dk].astype(np.int32),
        "airmass": secz[keep], "true_counts": total[keep], "true_ap12": total[keep] * m["ef12"][keep],
    }
    return sources, truth
