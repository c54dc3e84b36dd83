"""The truth the simulation knows: standard magnitudes through the project's standard passbands and
the true calibration of every (visit, detector), computed directly (not through the per-visit
template integrals the observations use), so tests can compare the two paths.

Templates are normalised so that each has AB magnitude 0 through the standard passband of the
reference filter; an object of reference magnitude m then has standard magnitude
``m - 2.5 log10(R_b)`` in band b, with R_b the mixed templates' flux ratio through that band.
"""

from __future__ import annotations

import numpy as np

from .. import astro, photometry
from .integrate import quadrature_weights
from .measure import enclosed_fraction


def standard_passbands(atmosphere, throughput, physical_filters, site) -> dict:
    """physical_filter -> (L,) standard passband on the throughput grid (from :mod:`fgcm_db.lut`)."""
    from .. import lut

    out = {}
    for f in physical_filters:
        sp = lut.standard_passband(atmosphere, throughput, f, site)
        out[f] = np.asarray(sp[-1] if isinstance(sp, tuple) else sp, dtype=np.float64)
    return out


def flux_ratios(fnu: np.ndarray, passbands: np.ndarray, wavelength_nm: np.ndarray) -> np.ndarray:
    """(T, B) photon-counting mean f_nu of templates ``fnu`` (T, L) through ``passbands`` (B, L):
    ``integral f_nu S dlambda/lambda / integral S dlambda/lambda``."""
    w = quadrature_weights(wavelength_nm)
    sw = np.asarray(passbands) * w
    return (fnu @ sw.T) / sw.sum(axis=1)


def mixed(values: np.ndarray, template: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Per-object linear mix of per-template ``values`` (T, ...) between ``template`` and ``template + 1``."""
    hi = np.minimum(template + 1, values.shape[0] - 1)
    wt = weight.reshape(weight.shape + (1,) * (values.ndim - 1))
    return (1.0 - wt) * values[template] + wt * values[hi]


def standard_magnitudes(objects, ratios: np.ndarray) -> np.ndarray:
    """(N, B) true standard AB magnitudes of ``objects`` from normalised-template ``ratios`` (T, B)."""
    return objects.mag_ref[:, None] - 2.5 * np.log10(mixed(ratios, objects.template, objects.weight))


def calibration(scene) -> dict:
    """True calibration of every (visit, detector), at the detector centre, for a flat-f_nu point source.

    zp_mag = ZP_AB + 2.5 log10(t * I0 * QE * illum * ef12) - decline - cloud, with I0 the integral of
    the detector's true instrument curve x the atmosphere at the centre's own airmass, ef12 the
    12-pixel aperture fraction (the calibration flux is ``apFlux_12_0``), and
    calib_mean = 10^(-0.4 (zp_mag - 31.4)) nJy per count (:mod:`fgcm_db.photometry`).

    Returns
    -------
    dict column -> (V * D,) arrays: visit, detector, band, physical_filter, airmass, i0, qe_scale,
    illumination, decline_mag, gray_mag, aperture_fraction_12, zp_mag_total (for the total flux),
    zp_mag, calib_mean, photometric.
    """
    s, cam, ins, w = scene.survey, scene.camera, scene.instrument, scene.weather
    nv, nd = len(s), len(cam)
    v = np.repeat(np.arange(nv), nd)
    d = np.tile(np.arange(nd), nv)
    ra, dec = astro.focal_plane_to_sky(cam.fp_x[d], cam.fp_y[d], s.ra[v], s.dec[v], s.rotation[v],
                                       cam.plate_scale_arcsec_per_mm)
    secz = astro.secant_zenith(astro.hour_angle_deg(s.mjd[v], ra, scene.site.longitude_deg), dec,
                               scene.site.latitude_deg)
    xi, eta = astro.sky_to_tangent_plane(ra, dec, s.ra[v], s.dec[v])
    i0 = np.zeros(nv * nd)
    qe = np.zeros(nv * nd)
    illum = np.zeros(nv * nd)
    for f in np.unique(scene.physical_filter):  # a handful of filters
        rows = np.flatnonzero(scene.physical_filter[v] == f)
        sl = scene.band_slice[f]
        lam = ins.wavelength_nm[sl]
        wq = quadrature_weights(ins.wavelength_nm)[sl]
        for chunk in np.array_split(rows, max(1, len(rows) // 4000)):
            vc = v[chunk]
            atm = scene.atmosphere.transmission(lam, w.pwv[vc], w.o3[vc], w.tau[vc], w.alpha[vc], secz[chunk],
                                                w.pressure[vc])
            i0[chunk] = np.sum(ins.curves[f][d[chunk], sl] * atm * wq, axis=1)
        qe[rows] = ins.qe_scale[f][d[rows]]
        illum[rows] = ins.illumination_factor(f, cam.fp_x[d[rows]], cam.fp_y[d[rows]])
    gray = np.maximum(w.cloud_mag[v] + w.cloud_gradient[v, 0] * xi + w.cloud_gradient[v, 1] * eta
                      + w.cloud_patch[v, d], 0.0)
    decline = ins.decline_mag(s.mjd[v])
    ef12 = enclosed_fraction(12.0, s.seeing_fwhm[v] * scene.fwhm_scale[v, d] / cam.pixel_scale[d])
    zp_total = scene.zp_ab + 2.5 * np.log10(s.exptime[v] * i0 * qe * illum) - decline - gray
    zp = zp_total + 2.5 * np.log10(ef12)
    return {
        "visit": s.visit[v], "detector": cam.detector[d].astype(np.int32), "band": s.band[v],
        "physical_filter": scene.physical_filter[v], "airmass": secz, "i0": i0, "qe_scale": qe,
        "illumination": illum, "decline_mag": decline, "gray_mag": gray, "aperture_fraction_12": ef12,
        "zp_mag_total": zp_total, "zp_mag": zp, "calib_mean": photometry.calib_mean_njy_per_count(zp),
        "photometric": w.photometric[v],
    }
