"""Instrument throughput: embedded HSC default, CONTRACT.md files, HSC component directory."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fgcm_db.atmosphere import BuiltinAtmosphere
from fgcm_db.camera import hsc_like_camera
from fgcm_db.errors import FgcmDbError
from fgcm_db.throughput import (
    HSC_CURVE_ATMOSPHERE,
    WAVELENGTH_GRID_NM,
    default_throughput,
    hsc_camera_from_csv,
    load_throughput,
)

LAM = WAVELENGTH_GRID_NM


def test_default_throughput_times_airmass_12_atmosphere_gives_back_speclite_total_curves():
    import speclite.filters

    thr = default_throughput()
    assert thr.physical_filters == ["HSC-G", "HSC-R", "HSC-I", "HSC-Z", "HSC-Y"]
    assert [thr.band(f) for f in thr.physical_filters] == ["g", "r", "i", "z", "y"]
    assert len(thr.detectors) == 0
    atm = BuiltinAtmosphere()
    p = HSC_CURVE_ATMOSPHERE
    t = atm.transmission(LAM, p["pwv_mm"], p["o3_du"], p["tau"], p["alpha"], p["airmass"], atm.site.pressure_std_hpa)
    for f, short in zip(thr.physical_filters, "grizy"):
        filt = speclite.filters.load_filter(f"hsc2017-{short}")
        total = np.interp(LAM, np.asarray(filt.wavelength) / 10.0, np.clip(filt.response, 0, None), left=0, right=0)
        ours = thr.curve(f) * t
        # photon-weighted integrals agree to 0.5 % (the division is done on the curves' 10 A bins)
        assert np.sum(ours / LAM) == pytest.approx(np.sum(total / LAM), rel=5e-3), f
        assert thr.curve(f).max() > np.max(total)  # the atmosphere was divided out


def test_hsc_component_directory_gives_one_curve_per_detector_from_its_radius(shared_data):
    hsc = shared_data / "hsc"
    camera = hsc_camera_from_csv(hsc / "hsc_detectors.csv")
    thr = load_throughput(hsc)
    assert len(camera) == 104 and np.array_equal(thr.detectors, camera.detector)
    assert {"HSC-G", "HSC-R", "HSC-I", "HSC-Z", "HSC-Y", "HSC-I2", "NB0921"} <= set(thr.physical_filters)
    assert thr.band("HSC-I2") == "i" and thr.band("NB0921") == "N921"
    # hand check at 650 nm on the detector nearest the axis: filter(r) x QE x optics x window x mirror
    k = int(np.argmin(camera.radius_mm()))
    r = camera.radius_mm()[k]
    filt = np.loadtxt(hsc / "hsc_filter_radial_r.txt")
    radii = np.arange(0, 290, 10.0)
    row = filt[np.argmin(abs(filt[:, 0] - 650.0))]
    lam0 = row[0]
    f_r = np.interp(r, radii, row[1:])
    qe = np.interp(lam0 * 10, *np.loadtxt(hsc / "qe_ccd_HSC.txt").T)
    popt = np.interp(lam0 * 10, *np.loadtxt(hsc / "throughput_popt2.txt").T)
    win = np.interp(lam0 * 10, *np.loadtxt(hsc / "throughput_win.txt").T)
    m1 = np.loadtxt(hsc / "M1-2010s.txt")
    mirror = np.interp(lam0, m1[::-1, 0], m1[::-1, 1])
    curve = thr.curve("HSC-R", int(camera.detector[k]))
    assert np.interp(lam0, LAM, curve) == pytest.approx(f_r * qe * popt * win * mirror, rel=2e-3)
    # the filter edges move with radius: centre and edge detectors differ in mean wavelength
    far = int(np.argmax(camera.radius_mm()))

    def mean_lambda(c):
        return np.sum(c) / np.sum(c / LAM)

    assert abs(mean_lambda(thr.curve("HSC-G", int(camera.detector[far]))) - mean_lambda(curve * 0 + thr.curve(
        "HSC-G", int(camera.detector[k])))) > 0.3
    np.testing.assert_allclose(thr.curve("HSC-R"), np.mean(thr.detector_curves("HSC-R", camera.detector), axis=0))


def test_hsc_directory_with_a_camera_uses_its_detectors(shared_data):
    cam = hsc_like_camera(max_radius_mm=100.0)
    thr = load_throughput(shared_data / "hsc", cam)
    assert np.array_equal(thr.detectors, cam.detector)


def _write(path, rows):
    pq.write_table(pa.table({k: [r[k] for r in rows] for k in rows[0]}), path)


def test_contract_file_with_mean_and_per_detector_curves(tmp_path):
    wl = np.linspace(400, 600, 21)
    tp = np.exp(-0.5 * ((wl - 500) / 40) ** 2) * 0.8
    rows = [{"physical_filter": "X-G", "wavelength": w, "throughput": t, "detector": None} for w, t in zip(wl, tp)]
    rows += [{"physical_filter": "X-G", "wavelength": w, "throughput": 0.5 * t, "detector": 7} for w, t in zip(wl, tp)]
    path = tmp_path / "tp.parquet"
    _write(path, rows)
    thr = load_throughput(path)
    assert thr.physical_filters == ["X-G"] and thr.band("X-G") == "X-G"
    assert list(thr.detectors) == [7]
    np.testing.assert_allclose(thr.curve("X-G", 7), 0.5 * thr.curve("X-G"))
    np.testing.assert_allclose(thr.curve("X-G", 3), thr.curve("X-G"))     # no own curve: the mean
    assert thr.curve("X-G")[np.argmin(abs(LAM - 500))] == pytest.approx(0.8)
    assert thr.curve("X-G")[np.argmin(abs(LAM - 700))] == 0.0


@pytest.mark.parametrize("wavelengths, message", [
    ([400.0, -5.0, 600.0], "positive"),
    ([400.0, 600.0, 500.0], "strictly increasing"),
])
def test_contract_file_with_bad_wavelengths_is_a_clear_error(tmp_path, wavelengths, message):
    path = tmp_path / "bad.csv"
    path.write_text("physical_filter,wavelength,throughput\n" + "".join(f"X-G,{w},0.5\n" for w in wavelengths))
    with pytest.raises(FgcmDbError, match=message):
        load_throughput(path)


def test_contract_file_missing_a_column_or_with_negative_throughput_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("physical_filter,wavelength\nX-G,400\n")
    with pytest.raises(FgcmDbError, match="lacks column.*throughput"):
        load_throughput(path)
    path.write_text("physical_filter,wavelength,throughput\nX-G,400,0.5\nX-G,500,-0.2\n")
    with pytest.raises(FgcmDbError, match="0..1"):
        load_throughput(path)


def test_a_filter_without_a_curve_is_a_clear_error():
    thr = default_throughput()
    with pytest.raises(FgcmDbError, match="no curve for physical filter 'HSC-N'"):
        thr.select(["HSC-G", "HSC-N"])


def test_per_detector_curve_for_a_detector_the_camera_lacks_is_a_clear_error(tmp_path):
    wl = np.linspace(400, 600, 5)
    rows = [{"physical_filter": "X-G", "wavelength": w, "throughput": 0.5, "detector": 999} for w in wl]
    path = tmp_path / "tp.parquet"
    _write(path, rows)
    with pytest.raises(FgcmDbError, match=r"detector\(s\) \[999\]"):
        load_throughput(path, hsc_like_camera())
